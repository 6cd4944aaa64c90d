"""Checkout: the form, the hold, and the Checkout Session Stripe receives."""

import time
from datetime import time as clock
from datetime import timedelta
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup
from django.utils import timezone

from tests.workshops.checkout import book, checkout_form
from tests.workshops.factories import TicketTypeFactory, WorkshopSessionFactory
from workshops.models import Order, OrderStatus, SessionStatus, Ticket, TicketStatus

pytestmark = pytest.mark.django_db


def test_step_one_offers_the_ticket_types_on_sale(client, session, seat, team_pack):
    TicketTypeFactory(name="Old price", workshops=[session.workshop], active=False)
    doc = BeautifulSoup(client.get(f"/book/{session.pk}/").content, "html.parser")
    labels = [label.get_text() for label in doc.select(".choice label")]
    assert labels == ["Standard seat: $350.00", "Team of five: $1,500.00 for 5 people"]


def test_step_two_asks_for_every_attendee(client, session, team_pack):
    response = client.get(
        f"/book/{session.pk}/", {"ticket_type": team_pack.pk, "quantity": 2}
    )
    doc = BeautifulSoup(response.content, "html.parser")
    # The buyer, ten attendees, then the seat code a colleague may pay with.
    assert len(doc.select("legend")) == 12
    assert "2 × Team of five" in doc.get_text()
    assert "$3,000.00" in doc.get_text()


def test_a_checkout_holds_seats_and_opens_a_stripe_checkout_session(
    client, stripe, session, seat
):
    started = int(time.time())
    response = book(client, session, seat, quantity=2)

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == (
        f"https://checkout.stripe.test/c/pay/{order.stripe_checkout_session_id}"
    )
    assert order.status == OrderStatus.PENDING
    assert order.total == Decimal("700.00")
    assert order.buyer_time_zone == "Europe/Berlin"
    assert list(order.tickets.values_list("status", flat=True)) == ["reserved"] * 2
    session.refresh_from_db()
    assert session.seats_left == 18

    [request] = stripe.calls("POST", "/v1/checkout/sessions")
    assert request.headers["authorization"] == "Bearer sk_test_standin"
    assert request.headers["idempotency-key"] == f"checkout-{order.reference}"
    params = request.params
    assert params["mode"] == "payment"
    assert params["client_reference_id"] == order.reference
    assert params["metadata[order]"] == order.reference
    assert params["customer_email"] == "ada@example.com"
    assert params["line_items[0][quantity]"] == "2"
    assert params["line_items[0][price_data][unit_amount]"] == "35000"
    assert params["line_items[0][price_data][currency]"] == "usd"
    assert (
        "Responding to Reports"
        in params["line_items[0][price_data][product_data][name]"]
    )
    lifetime = int(params["expires_at"]) - started
    assert 30 * 60 < lifetime <= 32 * 60
    assert params["success_url"].endswith("?session_id={CHECKOUT_SESSION_ID}")
    assert "/cancelled/" in params["cancel_url"]


def test_a_team_pack_takes_its_seats(client, stripe, session, team_pack):
    book(client, session, team_pack, quantity=2)
    assert Ticket.objects.holding_seats().filter(session=session).count() == 10


def assert_refused(response, message: str):
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Order.objects.exists()
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"quantity": 0}, "Choose at least one ticket."),
        ({"quantity": 11}, "One order can hold at most 10 of these."),
        ({"quantity": 10**12}, "One order can hold at most 10 of these."),
        ({"quantity": "lots"}, "Enter a whole number."),
        ({"buyer_email": "not-an-email"}, "Enter a valid email address."),
        ({"attendee-0-email": "nobody@"}, "Enter a valid email address."),
        ({"buyer_name": "x" * 10_000}, "Ensure this value has at most 200 characters"),
        ({"attendee-0-name": "Eve\r\nBcc: all@example.com"}, "on one line"),
        ({"ticket_type": 999_999}, "Choose one of the tickets on sale."),
    ],
)
def test_bad_input_gets_a_clear_message_and_holds_nothing(
    client, stripe, session, seat, overrides, message
):
    data = checkout_form(seat, attendees=[("Attendee", "attendee@example.com")])
    response = client.post(f"/book/{session.pk}/", {**data, **overrides})
    if response.status_code == 200:  # refused at step one: shown again
        assert message in response.content.decode()
        assert not Order.objects.exists()
    else:
        assert_refused(response, message)
    assert not stripe.requests


def test_every_seat_needs_an_attendee(client, stripe, session, seat):
    data = checkout_form(seat, quantity=2, attendees=[("Only One", "one@example.com")])
    assert_refused(
        client.post(f"/book/{session.pk}/", data),
        "Give a name and email address for all 2 seats.",
    )


def test_no_seats_left(client, stripe, session, seat):
    session.capacity = 3
    session.save()
    book(client, session, seat, quantity=2)
    response = book(client, session, seat, quantity=2)
    assert response.status_code == 400
    assert "Only 1 seat left in this session." in response.content.decode()
    assert Order.objects.count() == 1


def test_sale_window_closed(client, stripe, session, seat):
    form = checkout_form(seat)
    seat.sale_ends_at = timezone.now() - timedelta(minutes=1)
    seat.save()
    response = client.post(f"/book/{session.pk}/", form)
    assert "Tickets for this session are not on sale right now." in response.text
    assert not Order.objects.exists()


def test_cancelled_and_sold_out_sessions_cannot_be_booked(
    client, stripe, workshop, seat
):
    cancelled = WorkshopSessionFactory(
        workshop=workshop, status=SessionStatus.CANCELLED
    )
    response = client.post(f"/book/{cancelled.pk}/", checkout_form(seat))
    assert "This session has been cancelled." in response.text
    assert not Order.objects.exists()


def test_expired_holds_free_their_seats(client, stripe, session, seat):
    session.capacity = 2
    session.save()
    book(client, session, seat, quantity=2)
    assert book(client, session, seat).status_code == 400
    Order.objects.update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    assert book(client, session, seat).status_code == 302


def test_stripe_being_down_releases_the_hold_and_says_so(client, stripe, session, seat):
    stripe.fail_next = 10  # more than the client's retries
    response = book(client, session, seat)
    assert response.status_code == 503
    assert "Nothing was charged" in response.text
    order = Order.objects.get()
    assert order.status == OrderStatus.FAILED
    assert order.tickets.get().status == TicketStatus.RELEASED


def test_a_free_ticket_needs_no_payment(client, stripe, session, mailoutbox, workshop):
    free = TicketTypeFactory(
        name="Scholarship", price=Decimal("0"), workshops=[workshop]
    )
    response = book(client, session, free)
    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert response["Location"] == f"/orders/{order.token}/"
    assert not stripe.requests


def test_booking_closes_when_the_session_begins(client, stripe, workshop, seat):
    now = timezone.localtime(timezone.now(), timezone.get_fixed_timezone(0))
    begun = WorkshopSessionFactory(
        workshop=workshop,
        date=now.date(),
        start_time=clock(0, 0),
        end_time=clock(23, 59),
        time_zone="UTC",
    )
    response = client.post(f"/book/{begun.pk}/", checkout_form(seat))
    assert response.status_code == 400
    assert not Order.objects.exists()


def test_one_connection_cannot_book_without_limit(
    client, stripe, session, seat, settings
):
    settings.CHECKOUT_RATE_LIMIT = 2
    for n in range(2):
        response = book(client, session, seat, buyer_email=f"b{n}@example.com")
        assert response.status_code == 302
    response = book(client, session, seat, buyer_email="b3@example.com")
    assert response.status_code == 429
    assert "Too many bookings" in response.text
    assert Order.objects.count() == 2


def test_one_buyer_cannot_hoard_unpaid_orders(client, stripe, session, seat):
    for _ in range(3):
        assert book(client, session, seat).status_code == 302
    response = book(client, session, seat)
    assert response.status_code == 400
    assert "orders waiting for payment already" in response.text
    assert Order.objects.count() == 3


def test_one_connection_cannot_hold_a_session_unpaid(client, stripe, session, seat):
    assert book(client, session, seat, quantity=10).status_code == 302
    response = book(client, session, seat, quantity=10, buyer_email="b@example.com")
    assert response.status_code == 400
    assert (
        "10 seats of this session are already waiting for payment from your "
        "connection" in response.text
    )
    assert Order.objects.count() == 1
    assert len(stripe.calls("POST", "/v1/checkout/sessions")) == 1


def test_one_connection_cannot_hold_more_than_its_share_at_once(
    client, stripe, session, team_pack
):
    response = book(client, session, team_pack, quantity=3)
    assert response.status_code == 400
    assert "One connection can hold at most 10 unpaid seats" in response.text
    assert not Order.objects.exists()


def test_one_unpaid_booking_takes_at_most_half_the_seats_left(
    client, stripe, session, seat
):
    assert book(client, session, seat, quantity=10).status_code == 302
    other = {"REMOTE_ADDR": "192.0.2.7"}
    response = client.post(
        f"/book/{session.pk}/",
        checkout_form(seat, quantity=10, buyer_email="b@example.com"),
        **other,
    )
    assert response.status_code == 400
    assert (
        "Only 10 seats are left, and one booking can hold at most 5 seats while "
        "it is paid for" in response.text
    )
    assert Order.objects.count() == 1
    response = client.post(
        f"/book/{session.pk}/",
        checkout_form(seat, quantity=5, buyer_email="b@example.com"),
        **other,
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.seats_left == 5  # two requests no longer sell out a session


def test_the_share_of_seats_left_is_counted_in_whole_tickets(
    client, stripe, session, team_pack, seat
):
    session.capacity = 8
    session.save()
    # Half of 8 is 4 seats, less than one team ticket: a whole ticket may
    # still be held, as long as its seats are free.
    response = book(client, session, team_pack, quantity=1)
    assert response.status_code == 302
    assert Order.objects.get().seats == 5


def test_a_free_booking_is_not_bounded_like_an_unpaid_hold(client, session, seat):
    seat.price = 0
    seat.save()
    session.capacity = 12
    session.save()
    # Confirmed at once: nothing waits for a payment, so the bound on what one
    # unpaid booking may hold (6 of 12) is not for it.
    response = book(client, session, seat, quantity=10)
    assert response.status_code == 302
    assert Order.objects.get().status == OrderStatus.PAID


def test_paid_seats_do_not_count_against_the_connection(
    client, stripe, session, seat, commit
):
    book(client, session, seat, quantity=10)
    order = Order.objects.get()
    stripe.complete(order.stripe_checkout_session_id)
    with commit():
        client.get(f"/orders/{order.token}/")
    response = book(client, session, seat, quantity=5, buyer_email="b@example.com")
    assert response.status_code == 302
