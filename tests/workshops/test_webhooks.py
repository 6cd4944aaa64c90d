"""Stripe's webhook and the success page: one fulfilment, one email, whatever comes."""

import json
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.workshops.calendars import calendar_part
from tests.workshops.checkout import book, deliver
from workshops.models import Order, OrderStatus, StripeEvent, Ticket, TicketStatus
from workshops.services import orders_reconcile

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(client, stripe, session, seat):
    book(
        client,
        session,
        seat,
        quantity=2,
        attendees=[("Ada Buyer", "ada@example.com"), ("Grace", "grace@example.com")],
    )
    return Order.objects.get()


def test_the_same_event_five_times_fulfils_once_and_mails_once(
    client, stripe, order, mailoutbox, commit
):
    stripe.complete(order.stripe_checkout_session_id)
    event = stripe.event("checkout.session.completed", order.stripe_checkout_session_id)
    with commit():
        for _ in range(5):
            assert deliver(client, stripe, event).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.stripe_payment_intent_id.startswith("pi_test_")
    assert StripeEvent.objects.count() == 1
    assert [m.to for m in mailoutbox] == [["ada@example.com"], ["grace@example.com"]]
    # The webhook is a trigger: the session was fetched from Stripe once.
    assert len(stripe.calls("GET", "/v1/checkout/sessions/")) == 1


def test_the_success_page_and_the_webhook_fulfil_once_between_them(
    client, stripe, order, mailoutbox, commit
):
    stripe.complete(order.stripe_checkout_session_id)
    with commit():
        page = client.get(f"/orders/{order.token}/?session_id=x")
        event = stripe.event(
            "checkout.session.completed", order.stripe_checkout_session_id
        )
        deliver(client, stripe, event)
    assert "You’re booked" in page.text
    buyer_mail = [m for m in mailoutbox if m.to == ["ada@example.com"]]
    assert len(buyer_mail) == 1


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="SQLite serialises writers; the race needs PostgreSQL.",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_webhook_racing_the_success_page_sends_one_email(stripe, session, seat):
    book(Client(), session, seat)
    order = Order.objects.get()
    stripe.complete(order.stripe_checkout_session_id)
    event = stripe.event("checkout.session.completed", order.stripe_checkout_session_id)
    barrier = threading.Barrier(6)

    def hit(action):
        barrier.wait()
        try:
            action()
        finally:
            connection.close()

    actions = [lambda: Client().get(f"/orders/{order.token}/") for _ in range(3)] + [
        lambda: deliver(Client(), stripe, event) for _ in range(3)
    ]
    threads = [threading.Thread(target=hit, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert len([m for m in mail.outbox if m.to == ["ada@example.com"]]) == 1


def test_the_confirmation_has_tickets_links_times_and_a_calendar_entry(
    client, stripe, order, mailoutbox, commit, session
):
    session.meeting_url = "https://meet.example/room-42"
    session.save()
    stripe.complete(order.stripe_checkout_session_id)
    with commit():
        client.get(f"/orders/{order.token}/")
    buyer = mailoutbox[0]
    assert buyer.subject == f"You’re booked: Responding to Reports ({order.reference})"
    assert "EST (UTC−5)" in buyer.body  # the session's zone, New York
    assert "Your time:" in buyer.body and "CET (UTC+1)" in buyer.body  # Berlin
    tickets = list(order.tickets.all())
    for ticket in tickets:
        assert f"/tickets/{ticket.token}/" in buyer.body
    method, calendar = calendar_part(buyer)
    assert method == "REQUEST"
    [event] = calendar.events
    assert event["UID"] == session.calendar_uid
    assert event["SEQUENCE"] == session.sequence
    assert "room-42" in event["LOCATION"]
    html = buyer.alternatives[0][0]
    assert order.reference in html


def test_a_bad_signature_is_refused_and_changes_nothing(client, stripe, order):
    stripe.complete(order.stripe_checkout_session_id)
    event = stripe.event("checkout.session.completed", order.stripe_checkout_session_id)
    response = deliver(client, stripe, event, secret="whsec_forged")
    assert response.status_code == 400
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert not StripeEvent.objects.exists()


def test_a_stale_signature_is_refused(client, stripe, order):
    payload = json.dumps(
        stripe.event("checkout.session.completed", order.stripe_checkout_session_id)
    ).encode()
    old = int((timezone.now() - timedelta(minutes=10)).timestamp())
    response = client.post(
        "/stripe/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe.sign(
            payload, settings.STRIPE_WEBHOOK_SECRET, timestamp=old
        ),
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "event",
    [
        {"id": "evt_1", "type": "customer.created", "data": {"object": {}}},
        {"id": "evt_2", "type": "checkout.session.completed", "data": {}},
        {
            "id": "evt_3",
            "type": "checkout.session.completed",
            "data": {"object": {"id": "cs_not_ours", "object": "checkout.session"}},
        },
        {"id": "evt_4", "type": "checkout.session.expired"},
    ],
)
def test_unknown_or_odd_events_are_answered_and_change_nothing(
    client, stripe, order, event
):
    assert deliver(client, stripe, event).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert not stripe.calls("GET", "/v1/")


def test_a_body_that_is_not_json_is_refused(client, stripe):
    payload = b"{not json"
    response = client.post(
        "/stripe/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe.sign(payload, settings.STRIPE_WEBHOOK_SECRET),
    )
    assert response.status_code == 400


def test_only_post(client):
    assert client.get("/stripe/webhook/").status_code == 405


def test_an_event_stripe_cannot_confirm_now_is_answered_503_and_taken_again(
    client, stripe, order, mailoutbox, commit, caplog
):
    checkout_id = order.stripe_checkout_session_id
    stripe.complete(checkout_id)
    event = stripe.event("checkout.session.completed", checkout_id)
    stripe.fail_next = 10  # more than the client's retries
    assert deliver(client, stripe, event).status_code == 503
    assert f"Webhook {event['id']} deferred for {order}" in caplog.text
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert not StripeEvent.objects.exists()  # so Stripe's resend is not skipped

    stripe.fail_next = 0
    with commit():
        assert deliver(client, stripe, event).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert [m.to for m in mailoutbox] == [["ada@example.com"], ["grace@example.com"]]


def test_a_bank_debit_keeps_the_order_pending_until_stripe_says(
    client, stripe, order, mailoutbox, commit
):
    checkout_id = order.stripe_checkout_session_id
    stripe.complete(checkout_id, intent_status="processing")
    with commit():
        deliver(client, stripe, stripe.event("checkout.session.completed", checkout_id))
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    assert order.hold_expires_at is None
    assert not mailoutbox
    assert Ticket.objects.holding_seats().count() == 2

    stripe.settle(checkout_id, succeeded=True)
    with commit():
        deliver(
            client,
            stripe,
            stripe.event("checkout.session.async_payment_succeeded", checkout_id),
        )
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert len(mailoutbox) == 2


def test_a_failed_bank_debit_frees_the_seats(client, stripe, order, mailoutbox):
    checkout_id = order.stripe_checkout_session_id
    stripe.complete(checkout_id, intent_status="processing")
    deliver(client, stripe, stripe.event("checkout.session.completed", checkout_id))
    stripe.settle(checkout_id, succeeded=False)
    deliver(
        client,
        stripe,
        stripe.event("checkout.session.async_payment_failed", checkout_id),
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert not Ticket.objects.holding_seats().exists()
    assert not mailoutbox


def test_an_expired_checkout_frees_the_seats(client, stripe, order):
    stripe.expire(order.stripe_checkout_session_id)
    deliver(
        client,
        stripe,
        stripe.event("checkout.session.expired", order.stripe_checkout_session_id),
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert set(order.tickets.values_list("status", flat=True)) == {
        TicketStatus.RELEASED
    }


def test_a_payment_after_the_seats_went_elsewhere_is_refunded(
    client, stripe, order, session, seat, mailoutbox, commit, run_tasks
):
    session.capacity = 2
    session.save()
    Order.objects.filter(pk=order.pk).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )
    book(client, session, seat, quantity=2)  # the lapsed seats are sold again
    stripe.complete(order.stripe_checkout_session_id)
    with commit():
        client.get(f"/orders/{order.token}/")
    assert not stripe.calls("POST", "/v1/refunds")  # sent after the commit
    run_tasks()
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    [refund] = stripe.calls("POST", "/v1/refunds")
    assert refund.params["amount"] == "70000"
    assert refund.headers["idempotency-key"] == f"refund-order-{order.reference}"
    assert [m.subject for m in mailoutbox] == [
        f"Sorry: your order {order.reference} is refunded"
    ]


def test_leaving_stripe_checkout_lets_the_buyer_release_the_seats(
    client, stripe, order
):
    page = client.get(f"/orders/{order.token}/cancelled/")
    assert "Return to payment" in page.text
    client.post(f"/orders/{order.token}/cancelled/")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert stripe.calls(
        "POST", f"/v1/checkout/sessions/{order.stripe_checkout_session_id}/expire"
    )
    assert not Ticket.objects.holding_seats().exists()


def test_coming_back_from_stripe_checkout_gives_the_seats_back_at_once(
    client, stripe, order, session
):
    checkout_id = order.stripe_checkout_session_id
    page = client.get(f"/orders/{order.token}/cancelled/")
    assert "your seats have been released" in page.text
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert not Ticket.objects.holding_seats().exists()
    [expire] = stripe.calls("POST", f"/v1/checkout/sessions/{checkout_id}/expire")
    assert stripe.sessions[checkout_id]["status"] == "expired"
    # A reload closes it again at Stripe, which answers with what it is now.
    client.get(f"/orders/{order.token}/cancelled/")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def test_returning_to_payment_holds_the_same_seats_again(client, stripe, order):
    client.get(f"/orders/{order.token}/cancelled/")
    response = client.post(f"/orders/{order.token}/cancelled/", {"action": "resume"})
    again = Order.objects.exclude(pk=order.pk).get()
    assert (
        response["Location"] == stripe.sessions[again.stripe_checkout_session_id]["url"]
    )
    assert again.status == OrderStatus.PENDING
    assert list(again.tickets.values_list("attendee_email", flat=True)) == [
        "ada@example.com",
        "grace@example.com",
    ]
    assert Ticket.objects.holding_seats().count() == 2

    # A second press (a double click, a reload) makes no third order.
    again_response = client.post(
        f"/orders/{order.token}/cancelled/", {"action": "resume"}
    )
    assert again_response["Location"] == f"/orders/{again.token}/"
    assert Order.objects.count() == 2
    assert Ticket.objects.holding_seats().count() == 2


def test_only_an_order_left_unpaid_can_be_paid_again(client, stripe, order):
    stripe.complete(order.stripe_checkout_session_id)
    client.get(f"/orders/{order.token}/")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    response = client.post(f"/orders/{order.token}/cancelled/", {"action": "resume"})
    assert response.status_code == 302
    assert Order.objects.count() == 1


def test_a_payment_that_beat_the_cancel_is_seated_if_the_seats_are_free(
    client, stripe, order, mailoutbox, commit
):
    stripe.complete(order.stripe_checkout_session_id)  # paid in another tab
    with commit():
        client.get(f"/orders/{order.token}/cancelled/")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert Ticket.objects.filter(status=TicketStatus.VALID).count() == 2
    assert not stripe.calls("POST", "/v1/refunds")
    assert [m.to for m in mailoutbox] == [["ada@example.com"], ["grace@example.com"]]


def test_a_late_payment_after_the_cancel_is_refunded_if_the_seats_went(
    client, stripe, order, session, seat, mailoutbox, commit, run_tasks
):
    session.capacity = 2
    session.save()
    checkout_id = order.stripe_checkout_session_id
    client.get(f"/orders/{order.token}/cancelled/")
    assert book(client, session, seat, quantity=2).status_code == 302
    stripe.complete(checkout_id)  # the payment raced the close
    with commit():
        event = stripe.event("checkout.session.completed", checkout_id)
        assert deliver(client, stripe, event).status_code == 200
    run_tasks()
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    [refund] = stripe.calls("POST", "/v1/refunds")
    assert refund.params["amount"] == "70000"
    assert refund.headers["idempotency-key"] == f"refund-order-{order.reference}"
    assert [m.subject for m in mailoutbox] == [
        f"Sorry: your order {order.reference} is refunded"
    ]


def test_an_altered_order_link_finds_nothing(client, order):
    assert client.get(f"/orders/{order.token[:-2]}xx/").status_code == 404


def test_an_order_that_lost_its_session_id_is_found_by_its_reference(
    client, stripe, order
):
    checkout_id = order.stripe_checkout_session_id
    Order.objects.filter(pk=order.pk).update(stripe_checkout_session_id="")
    stripe.complete(checkout_id)
    deliver(client, stripe, stripe.event("checkout.session.completed", checkout_id))
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.stripe_checkout_session_id == checkout_id


def test_reconciling_closes_lapsed_checkouts_and_settles_lost_payments(
    client, stripe, order, session, seat
):
    Order.objects.filter(pk=order.pk).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert orders_reconcile() == {"checked": 1, "changed": 1, "unreachable": 0}
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert stripe.sessions[order.stripe_checkout_session_id]["status"] == "expired"
    assert orders_reconcile()["checked"] == 0
