"""After the sale: the holder's private page, and what the Sales team can do."""

import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core import signing
from django.core.management import call_command
from django.utils import timezone
from wagtail.models import ModelLogEntry
from wagtail.test.utils.form_data import inline_formset, nested_form_data, streamfield

from home.models import SiteSettings
from tests.workshops.calendars import calendar_part
from tests.workshops.checkout import book
from tests.workshops.factories import (
    TicketTypeFactory,
    WorkshopPageFactory,
    WorkshopSessionFactory,
)
from workshops import services, tasks
from workshops.models import (
    Order,
    OrderStatus,
    PaymentMethod,
    Refund,
    RefundStatus,
    Ticket,
    TicketStatus,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_order(client, stripe, session, seat, django_capture_on_commit_callbacks):
    book(
        client,
        session,
        seat,
        quantity=3,
        attendees=[
            ("Ada Buyer", "ada@example.com"),
            ("Grace", "grace@example.com"),
            ("Linus", "linus@example.com"),
        ],
    )
    order = Order.objects.get()
    stripe.complete(order.stripe_checkout_session_id)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"/orders/{order.token}/")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    return order


@pytest.fixture
def ticket(paid_order) -> Ticket:
    return paid_order.tickets.get(attendee_email="grace@example.com")


@pytest.fixture
def sales_client(client, django_user_model):
    user = django_user_model.objects.create_user("sam", "sam@example.com", "pw")
    user.groups.add(Group.objects.get(name="Sales"))
    client.force_login(user)
    return client


@pytest.fixture
def editor_client(client, django_user_model):
    user = django_user_model.objects.create_user("eve", "eve@example.com", "pw")
    user.groups.add(Group.objects.get(name="Editors"))
    client.force_login(user)
    return client


def test_the_holder_sees_the_ticket_and_the_joining_link(client, ticket, session):
    session.meeting_url = "https://meet.example/room-42"
    session.save()
    page = client.get(f"/tickets/{ticket.token}/")
    assert "Grace’s ticket" in page.text
    assert "https://meet.example/room-42" in page.text
    calendar = client.get(f"/tickets/{ticket.token}/calendar.ics")
    assert calendar["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-store" in calendar["Cache-Control"]
    assert b"room-42" in calendar.content


def test_a_forged_ticket_link_finds_nothing(client, ticket):
    other = Ticket.objects.exclude(pk=ticket.pk).first()
    salt = "workshops.ticket"
    forgeries = [
        ticket.token[:-1] + ("A" if ticket.token[-1] != "A" else "B"),
        # Someone else's ticket, signed with a key that is not ours.
        signing.Signer(key="not-our-key", salt=salt).sign_object(
            [other.pk, other.secret]
        ),
        # Our key, but a guessed secret.
        signing.Signer(salt=salt).sign_object([other.pk, "guessed"]),
    ]
    for forged in forgeries:
        assert client.get(f"/tickets/{forged}/").status_code == 404


def test_the_holder_hands_the_seat_to_a_colleague(
    client, ticket, mailoutbox, django_capture_on_commit_callbacks, run_tasks
):
    mailoutbox.clear()
    old_link = f"/tickets/{ticket.token}/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            old_link, {"name": "Katherine", "email": "katherine@example.com"}
        )
    # The previous holder's email is a notice: logged, retried, sent by a task.
    run_tasks()
    assert "The seat is now Katherine’s" in response.text
    ticket.refresh_from_db()
    assert ticket.attendee_name == "Katherine"
    new_holder, old_holder = mailoutbox
    assert new_holder.to == ["katherine@example.com"]
    assert f"/tickets/{ticket.token}/" in new_holder.body
    assert old_holder.to == ["grace@example.com"]
    assert "Your old ticket link no longer works" in old_holder.body
    # The old link, with its joining link and its power to hand the seat on, is dead.
    assert client.get(old_link).status_code == 404


def test_correcting_the_name_keeps_the_link(client, ticket, mailoutbox):
    mailoutbox.clear()
    link = f"/tickets/{ticket.token}/"
    client.post(link, {"name": "Grace Hopper", "email": "GRACE@example.com"})
    assert client.get(link).status_code == 200
    assert not mailoutbox


def test_bad_attendee_details_are_refused(client, ticket):
    response = client.post(
        f"/tickets/{ticket.token}/", {"name": "x" * 300, "email": "nope"}
    )
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.attendee_name == "Grace"


def test_staff_cancel_a_ticket_with_a_refund_and_the_seat_is_free(
    sales_client,
    stripe,
    ticket,
    session,
    mailoutbox,
    django_capture_on_commit_callbacks,
    run_tasks,
):
    mailoutbox.clear()
    seats_before = session.seats_left
    with django_capture_on_commit_callbacks(execute=True):
        response = sales_client.post(
            f"/admin/workshops/tickets/{ticket.pk}/cancel/", {"refund": "on"}
        )
    assert response.status_code == 302
    assert not stripe.calls("POST", "/v1/refunds")  # not from the request
    run_tasks()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CANCELLED
    assert ticket.refunded_amount == Decimal("350.00")
    [refund] = stripe.calls("POST", "/v1/refunds")
    assert refund.params["amount"] == "35000"
    assert refund.params["payment_intent"] == ticket.order.stripe_payment_intent_id
    assert refund.headers["idempotency-key"] == f"refund-ticket-{ticket.pk}"
    del session.seats_taken
    assert session.seats_left == seats_before + 1
    assert mailoutbox[0].to == ["grace@example.com"]
    assert "We have asked for $350.00 to be refunded" in mailoutbox[0].body


def test_refunds_add_up_to_what_was_paid(stripe, paid_order, commit, run_tasks):
    Order.objects.filter(pk=paid_order.pk).update(total=Decimal("100.00"))
    with commit():
        for ticket in paid_order.tickets.all():
            services.ticket_cancel(ticket_id=ticket.pk, refund=True)
    run_tasks()
    paid_order.refresh_from_db()
    amounts = [int(r.params["amount"]) for r in stripe.calls("POST", "/v1/refunds")]
    assert sorted(amounts) == [3333, 3333, 3334]
    assert paid_order.status == OrderStatus.REFUNDED
    assert paid_order.refunded_amount == Decimal("100.00")


def test_a_seat_cancelled_without_refund_does_not_grow_the_next_refund(
    stripe, paid_order, commit, run_tasks
):
    first, second, _ = paid_order.tickets.order_by("pk")
    with commit():
        services.ticket_cancel(ticket_id=first.pk, refund=False)
        services.ticket_cancel(ticket_id=second.pk, refund=True)
    run_tasks()
    [refund] = stripe.calls("POST", "/v1/refunds")
    assert refund.params["amount"] == "35000"


def test_a_cancelled_order_is_not_revived_by_a_late_payment_event(
    stripe, paid_order, mailoutbox
):
    for ticket in paid_order.tickets.all():
        services.ticket_cancel(ticket_id=ticket.pk, refund=False)
    mailoutbox.clear()
    services.order_sync(order=Order.objects.get(pk=paid_order.pk))
    paid_order.refresh_from_db()
    assert paid_order.status == OrderStatus.CANCELLED
    assert not mailoutbox
    assert not Ticket.objects.filter(status=TicketStatus.VALID).exists()


def test_an_unreachable_stripe_leaves_the_refund_pending_for_the_next_run(
    stripe, ticket, commit, run_tasks, sales_client
):
    stripe.fail_next = 10  # more than the client's retries
    with commit():
        services.ticket_cancel(ticket_id=ticket.pk, refund=True)
    run_tasks()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CANCELLED  # the seat is free at once
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.PENDING
    assert refund.attempts == 1
    assert "Stand-in failure" in refund.failure
    page = sales_client.get(f"/admin/workshops/tickets/inspect/{ticket.pk}/")
    assert "Pending (to be sent to Stripe)" in page.text

    stripe.fail_next = 0
    out = io.StringIO()
    call_command("reconcile_orders", stdout=out)
    assert "Refunds: 1 sent, 0 refused, 0 still pending" in out.getvalue()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    keys = {r.headers["idempotency-key"] for r in stripe.calls("POST", "/v1/refunds")}
    assert keys == {f"refund-ticket-{ticket.pk}"}
    assert len(stripe.refunds) == 1
    ticket.refresh_from_db()
    assert ticket.stripe_refund_id == refund.stripe_refund_id
    page = sales_client.get(f"/admin/workshops/tickets/inspect/{ticket.pk}/")
    assert f"$350.00: Refunded ({refund.stripe_refund_id})" in page.text
    assert ModelLogEntry.objects.filter(
        action="workshops.refund.succeeded", object_id=str(ticket.pk)
    ).exists()


def test_a_refund_stripe_refuses_is_marked_failed_with_the_reason(
    stripe, ticket, commit, run_tasks, sales_client
):
    Order.objects.filter(pk=ticket.order_id).update(
        stripe_payment_intent_id="pi_unknown"
    )
    with commit():
        services.ticket_cancel(ticket_id=ticket.pk, refund=True)
    run_tasks()
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.FAILED
    assert "No such payment_intent" in refund.failure
    page = sales_client.get(f"/admin/workshops/tickets/inspect/{ticket.pk}/")
    assert "$350.00: Failed" in page.text
    assert ModelLogEntry.objects.filter(action="workshops.refund.failed").exists()
    # Refused is final: neither the task nor reconcile_orders sends it again.
    services.refund_send(refund_id=refund.pk)
    call_command("reconcile_orders", stdout=io.StringIO())
    assert len(stripe.calls("POST", "/v1/refunds")) == 1


def test_staff_hear_of_a_refund_stripe_refuses(
    stripe, ticket, commit, mailoutbox, home_page
):
    settings = SiteSettings.for_site(home_page.get_site())
    settings.contact_email = "office@tidewell.example"
    settings.save()
    Order.objects.filter(pk=ticket.order_id).update(
        stripe_payment_intent_id="pi_unknown"
    )
    with commit():
        services.ticket_cancel(ticket_id=ticket.pk, refund=True)
    # Its notice, as the queued sender sends it; the refund is sent below.
    services.session_notices_send(session_id=ticket.session_id)
    # The attendee is told a refund was asked for, not that it arrived.
    cancelled = [m for m in mailoutbox if m.to == [ticket.attendee_email]][-1]
    assert "We have asked for $350.00 to be refunded" in cancelled.body
    with commit():
        services.refund_send(refund_id=Refund.objects.get().pk)

    staff = [m for m in mailoutbox if m.to == ["office@tidewell.example"]]
    assert len(staff) == 1
    assert "was refused" in staff[0].subject
    assert "No such payment_intent" in staff[0].body
    assert f"/admin/workshops/orders/inspect/{ticket.order_id}/" in staff[0].body


def test_a_refund_task_run_twice_refunds_once(stripe, ticket, commit, run_tasks):
    with commit():
        services.ticket_cancel(ticket_id=ticket.pk, refund=True)
    refund = Refund.objects.get()
    tasks.refund_send.call(refund.pk)
    tasks.refund_send.call(refund.pk)
    run_tasks()
    assert len(stripe.calls("POST", "/v1/refunds")) == 1
    assert len(stripe.refunds) == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED


def test_staff_move_an_attendee_to_another_session(
    sales_client, ticket, workshop, mailoutbox, commit, run_tasks
):
    later = WorkshopSessionFactory(
        workshop=workshop, date=timezone.localdate() + timezone.timedelta(days=60)
    )
    mailoutbox.clear()
    with commit():
        sales_client.post(
            f"/admin/workshops/tickets/{ticket.pk}/move/", {"session": later.pk}
        )
    run_tasks()
    old_session = ticket.session
    ticket.refresh_from_db()
    assert ticket.session == later
    # One message per METHOD (RFC 6047): the old date out, the new one in.
    parts = {}
    for message in mailoutbox:
        method, calendar = calendar_part(message)
        parts[method] = (message.subject, calendar.walk("VEVENT")[0])
    assert len(mailoutbox) == 2
    subject, withdrawn = parts["CANCEL"]
    assert subject.startswith("Removed from your calendar")
    assert withdrawn["UID"] == old_session.calendar_uid
    assert withdrawn["STATUS"] == "CANCELLED"
    subject, added = parts["REQUEST"]
    assert subject.startswith("Your new date")
    assert added["UID"] == later.calendar_uid


def test_a_full_session_takes_no_one_else(sales_client, ticket, workshop):
    full = WorkshopSessionFactory(workshop=workshop, capacity=0)
    response = sales_client.post(
        f"/admin/workshops/tickets/{ticket.pk}/move/", {"session": full.pk}
    )
    assert "That session has no free seat." in response.text
    ticket.refresh_from_db()
    assert ticket.session != full


def test_sales_see_orders_and_attendees_and_export_a_list(sales_client, paid_order):
    orders = sales_client.get("/admin/workshops/orders/")
    assert paid_order.reference in orders.text
    session_id = paid_order.session_id
    listing = sales_client.get(
        "/admin/workshops/tickets/", {"session": session_id, "export": "csv"}
    )
    rows = b"".join(listing.streaming_content).decode().splitlines()
    assert rows[0].startswith("Attendee name,Attendee email")
    assert len(rows) == 4
    assert "grace@example.com" in rows[2] or "grace@example.com" in rows[1]
    home = sales_client.get("/admin/")
    assert "Seats sold per upcoming session" in home.text


def test_the_attendee_list_is_called_what_the_menu_calls_it(sales_client, paid_order):
    home = sales_client.get("/admin/").text
    page = sales_client.get("/admin/workshops/tickets/").text
    assert '"label": "Attendees"' in home
    assert "<title>Attendees" in page


def test_editors_cannot_see_orders_or_attendees(editor_client, paid_order):
    for url in ("/admin/workshops/orders/", "/admin/workshops/tickets/"):
        response = editor_client.get(url)
        assert response.status_code in (302, 403)
    assert "Seats sold" not in editor_client.get("/admin/").text
    assert editor_client.get("/admin/snippets/workshops/tickettype/").status_code == 200


def test_nobody_edits_an_order_by_hand(admin_client, paid_order):
    assert admin_client.get(
        f"/admin/workshops/orders/edit/{paid_order.pk}/"
    ).status_code in (302, 403)
    assert admin_client.get("/admin/workshops/orders/new/").status_code in (302, 403)


def test_each_change_is_in_the_history(sales_client, ticket):
    sales_client.post(f"/admin/workshops/tickets/{ticket.pk}/cancel/", {})
    history = sales_client.get(f"/admin/workshops/tickets/history/{ticket.pk}/")
    assert "Ticket cancelled" in history.text


def test_demo_orders_refund_nothing_through_stripe(stripe, paid_order):
    Order.objects.filter(pk=paid_order.pk).update(payment_method=PaymentMethod.DEMO)
    ticket = paid_order.tickets.first()
    services.ticket_cancel(ticket_id=ticket.pk, refund=True)
    assert not stripe.calls("POST", "/v1/refunds")


def test_personal_pages_are_never_cached(client, paid_order, ticket):
    for url in (f"/orders/{paid_order.token}/", f"/tickets/{ticket.token}/"):
        assert "no-store" in client.get(url)["Cache-Control"]


def test_sales_exports_cannot_smuggle_formulas(sales_client, paid_order):
    Ticket.objects.filter(order=paid_order).update(attendee_name="=HYPERLINK(1)")
    export = sales_client.get("/admin/workshops/tickets/", {"export": "csv"})
    body = b"".join(export.streaming_content).decode()
    assert "'=HYPERLINK(1)" in body
    assert "\n=HYPERLINK" not in body


def test_sessions_with_tickets_cannot_be_removed_from_the_page(
    admin_client, paid_order, workshop
):
    session = paid_order.session
    data = nested_form_data(
        {
            "title": workshop.title,
            "slug": workshop.slug,
            "summary": workshop.summary,
            "body": streamfield([]),
            "duration_minutes": 210,
            "platform": "Zoom",
            "capacity": 20,
            "price": "350.00",
            "sessions": inline_formset(
                [
                    {
                        "id": session.pk,
                        "date": session.date.isoformat(),
                        "start_time": "10:00",
                        "end_time": "13:30",
                        "time_zone": session.time_zone,
                        "status": "scheduled",
                        "DELETE": "1",
                    }
                ],
                initial=1,
            ),
            "action-publish": "1",
        }
    )
    response = admin_client.post(f"/admin/pages/{workshop.pk}/edit/", data)
    assert "has tickets, so it cannot be removed" in response.text
    assert type(session).objects.filter(pk=session.pk).exists()


def test_a_workshop_with_sold_sessions_cannot_be_deleted(admin_client, paid_order):
    workshop = paid_order.session.workshop
    response = admin_client.post(f"/admin/pages/{workshop.pk}/delete/")
    assert response.status_code == 302
    assert type(workshop).objects.filter(pk=workshop.pk).exists()


def test_a_cancelled_paid_order_does_not_claim_nothing_was_charged(
    client, stripe, paid_order
):
    for ticket in paid_order.tickets.all():
        services.ticket_cancel(ticket_id=ticket.pk, refund=False)
    page = client.get(f"/orders/{paid_order.token}/")
    assert "This order has been cancelled" in page.text
    assert "Nothing was charged" not in page.text


@pytest.fixture
def cheaper_workshop(schedule):
    """Another workshop, selling its own one-seat ticket for $180."""
    workshop = WorkshopPageFactory(parent=schedule, title="Short Course", price=180)
    TicketTypeFactory(name="Short seat", price=Decimal("180.00"), workshops=[workshop])
    return WorkshopSessionFactory(workshop=workshop)


def test_a_move_to_a_cheaper_workshop_shows_the_difference_and_waits_for_a_yes(
    sales_client, ticket, cheaper_workshop, mailoutbox, commit, run_tasks
):
    form = sales_client.get(f"/admin/workshops/tickets/{ticket.pk}/move/")
    assert "Short Course" in form.text and "$170.00 a seat less" in form.text
    url = f"/admin/workshops/tickets/{ticket.pk}/move/"
    mailoutbox.clear()
    with commit():
        response = sales_client.post(url, {"session": cheaper_workshop.pk})
    assert response.status_code == 200
    assert (
        "A seat of this ticket (Standard seat) cost $350.00; in Short Course it "
        "costs $180.00 (Short seat), $170.00 less." in response.text
    )
    ticket.refresh_from_db()
    assert ticket.session != cheaper_workshop
    assert not mailoutbox
    # The page now carries the difference it showed: only that can be confirmed.
    shown = re.search(r'name="shown_difference" value="([^"]+)"', response.text)
    assert shown and shown.group(1) == "-170.00"
    # A tick alone, without the figure shown, moves nobody.
    response = sales_client.post(
        url, {"session": cheaper_workshop.pk, "confirm_price": "on"}
    )
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.session != cheaper_workshop

    with commit():
        response = sales_client.post(
            url,
            {
                "session": cheaper_workshop.pk,
                "confirm_price": "on",
                "shown_difference": shown.group(1),
            },
        )
    assert response.status_code == 302
    run_tasks()
    ticket.refresh_from_db()
    assert ticket.session == cheaper_workshop
    assert sorted(calendar_part(message)[0] for message in mailoutbox) == [
        "CANCEL",
        "REQUEST",
    ]
    entry = ModelLogEntry.objects.get(action="workshops.ticket.moved")
    assert entry.data["price_difference"] == "-170.00"


def test_a_move_where_the_ticket_type_is_not_sold_is_refused(
    sales_client, ticket, schedule
):
    other = WorkshopPageFactory(parent=schedule, title="Team Only")
    TicketTypeFactory(
        name="Team of five", price=Decimal("900"), seats_per_ticket=5, workshops=[other]
    )
    target = WorkshopSessionFactory(workshop=other)
    url = f"/admin/workshops/tickets/{ticket.pk}/move/"
    assert "Standard seat not sold there" in sales_client.get(url).text
    response = sales_client.post(url, {"session": target.pk, "confirm_price": "on"})
    assert (
        "Team Only does not sell Standard seat tickets or any like them"
        in response.text
    )
    ticket.refresh_from_db()
    assert ticket.session != target


def test_a_service_move_across_prices_needs_the_difference_confirmed(
    ticket, cheaper_workshop
):
    with pytest.raises(services.PriceDifference):
        services.ticket_move(ticket_id=ticket.pk, session_id=cheaper_workshop.pk)
    with pytest.raises(services.PriceDifference):  # a different figure than shown
        services.ticket_move(
            ticket_id=ticket.pk,
            session_id=cheaper_workshop.pk,
            confirmed_difference=Decimal("-100.00"),
        )
    ticket.refresh_from_db()
    assert ticket.session != cheaper_workshop
    services.ticket_move(
        ticket_id=ticket.pk,
        session_id=cheaper_workshop.pk,
        confirmed_difference=Decimal("-170.00"),
    )
    ticket.refresh_from_db()
    assert ticket.session == cheaper_workshop


def test_a_holder_moves_their_own_ticket_to_another_date(
    client, ticket, workshop, mailoutbox, commit, run_tasks
):
    old_session = ticket.session
    later = WorkshopSessionFactory(
        workshop=workshop, date=old_session.date + timezone.timedelta(days=21)
    )
    full = WorkshopSessionFactory(
        workshop=workshop,
        date=old_session.date + timezone.timedelta(days=28),
        capacity=0,
    )
    page = client.get(f"/tickets/{ticket.token}/").text
    assert "Change the date" in page and f'value="{later.pk}"' in page
    assert f'value="{full.pk}"' not in page
    # A date not offered (sold out) is refused, and nothing moves.
    url = f"/tickets/{ticket.token}/date/"
    response = client.post(url, {"session": full.pk}, follow=True)
    assert "Choose one of the dates listed." in response.text
    ticket.refresh_from_db()
    assert ticket.session == old_session
    mailoutbox.clear()
    with commit():
        response = client.post(url, {"session": later.pk}, follow=True)
    run_tasks()
    assert "Your ticket is now for the new date." in response.text
    ticket.refresh_from_db()
    assert ticket.session == later
    assert sorted(calendar_part(message)[0] for message in mailoutbox) == [
        "CANCEL",
        "REQUEST",
    ]
    entry = ModelLogEntry.objects.get(action="workshops.ticket.moved")
    assert entry.data["to"] == later.pk


def test_no_other_date_is_offered_once_the_session_has_begun(ticket, workshop):
    WorkshopSessionFactory(
        workshop=workshop, date=ticket.session.date + timezone.timedelta(days=21)
    )
    begun = ticket.session.local_start + timezone.timedelta(minutes=1)
    assert services.ticket_other_dates(ticket=ticket, now=begun) == []
    with pytest.raises(services.TicketError):
        services.ticket_change_date(ticket_id=ticket.pk, session_id=ticket.session.pk)
