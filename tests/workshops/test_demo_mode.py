"""Without Stripe keys and with DEBUG on, checkout completes orders locally."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tests.workshops.checkout import book, checkout_form
from workshops import services
from workshops.models import (
    InvoiceRequest,
    InvoiceRequestPage,
    InvoiceStatus,
    Order,
    OrderStatus,
    PaymentMethod,
    SeatCode,
    TicketType,
    WorkshopSession,
)

pytestmark = pytest.mark.django_db


def test_demo_checkout_pays_through_the_same_fulfilment(
    client, demo_checkout, session, seat, mailoutbox, django_capture_on_commit_callbacks
):
    response = book(client, session, seat, attendees=[("Ada", "ada@example.com")])
    order = Order.objects.get()
    assert order.payment_method == PaymentMethod.DEMO
    assert response["Location"] == f"/orders/{order.token}/demo-payment/"
    page = client.get(response["Location"])
    assert "Nothing is charged" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"], {"action": "pay"})
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert len(mailoutbox) == 1
    assert "(demo, not charged)" in mailoutbox[0].body


def test_demo_payment_can_be_cancelled(client, demo_checkout, session, seat):
    response = book(client, session, seat)
    client.post(response["Location"], {"action": "cancel"})
    assert Order.objects.get().status == OrderStatus.CANCELLED


def test_the_demo_page_does_not_exist_with_debug_off(
    client, demo_checkout, session, seat, settings
):
    response = book(client, session, seat)
    settings.DEBUG = False
    assert client.get(response["Location"]).status_code == 404
    assert client.post(response["Location"], {"action": "pay"}).status_code == 404
    assert Order.objects.get().status == OrderStatus.PENDING


def test_a_system_check_refuses_demo_mode_with_debug_off(settings):
    settings.DEBUG = False
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(SystemCheckError, match="workshops.E001"):
        call_command("check")


def test_a_stripe_key_without_a_webhook_secret_is_refused(settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    with pytest.raises(SystemCheckError, match="workshops.E002"):
        call_command("check")


@pytest.mark.parametrize("meeting_url", ["", "https://meet.example/room-7"])
def test_the_emails_promise_a_joining_link_only_when_there_is_one(
    client,
    demo_checkout,
    session,
    seat,
    mailoutbox,
    django_capture_on_commit_callbacks,
    meeting_url,
):
    session.meeting_url = meeting_url
    session.save()
    book(
        client,
        session,
        seat,
        quantity=2,
        attendees=[("Ada", "ada@example.com"), ("Grace", "grace@example.com")],
    )
    order = Order.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/orders/{order.token}/demo-payment/", {"action": "pay"})

    assert len(mailoutbox) == 2  # Ada's confirmation, Grace's ticket
    for message in mailoutbox:
        html = message.alternatives[0][0]
        promised = "joining link is in the attached calendar entry"
        assert (promised in message.body) is bool(meeting_url)
        assert (promised in html) is bool(meeting_url)
        calendar = message.attachments[0][1]
        calendar = calendar.decode() if isinstance(calendar, bytes) else calendar
        assert ("https://meet.example/room-7" in calendar) is bool(meeting_url)


def test_demo_sessions_have_a_joining_link(demo_content):
    assert not WorkshopSession.objects.filter(meeting_url="").exists()


def test_the_demo_has_a_paid_invoice_whose_code_a_newcomer_redeems_at_once(
    client, demo_checkout, demo_content, mailoutbox
):
    page = InvoiceRequestPage.objects.get()
    group_training = demo_content.get_children().get(slug="group-training").specific
    # The FAQ and Group training link to the form instead of a mailto: button.
    for linked in (demo_content, group_training):
        assert f'linktype="page" id="{page.pk}"' in str(linked.body.get_prep_value())
    assert client.get(page.url).status_code == 200
    seat_code = SeatCode.objects.get()
    assert seat_code.invoice_request.status == InvoiceStatus.PAID
    session = next(
        s for s in WorkshopSession.objects.order_by("starts_at") if s.is_bookable
    )
    seat = TicketType.objects.filter(
        workshops=session.workshop, seats_per_ticket=1
    ).first()
    response = client.post(
        f"/book/{session.pk}/",
        {
            **checkout_form(seat),
            "seat_code": seat_code.code.lower(),
        },
    )
    assert response.status_code == 302
    assert Order.objects.get(seat_code=seat_code).status == OrderStatus.PAID
    # The request waiting for payment is marked paid the way a webhook would.
    waiting = InvoiceRequest.objects.get(status=InvoiceStatus.REQUESTED)
    services.invoice_request_mark_paid_demo(request_id=waiting.pk)
    assert SeatCode.objects.filter(invoice_request=waiting).exists()
    # Loading again changes nothing.
    call_command("load_demo", stdout=io.StringIO())
    assert InvoiceRequestPage.objects.count() == 1
    assert InvoiceRequest.objects.count() == 2
