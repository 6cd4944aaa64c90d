"""A paid waiting-list offer through Stripe Checkout: the offer keeps its own
hold, Stripe's "back" leads back to it, and an expired session is replaced."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from freezegun import freeze_time

from tests.workshops.checkout import deliver
from tests.workshops.factories import WorkshopSessionFactory, make_paid_ticket
from workshops import payments, services
from workshops.models import (
    Order,
    OrderStatus,
    TicketStatus,
    TicketType,
    WaitlistEntry,
    WaitlistSettings,
    WaitlistStatus,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_session(workshop, seat):
    """Two seats at $350, both sold, and Ada then Ben waiting."""
    session = WorkshopSessionFactory(
        workshop=workshop, capacity=2, date=timezone.localdate() + timedelta(days=20)
    )
    for number in range(2):
        make_paid_ticket(session, f"Holder {number}", f"holder{number}@example.com")
    for name, email in (("Ada", "ada@example.com"), ("Ben", "ben@example.com")):
        services.waitlist_join(session_id=session.pk, name=name, email=email)
    return session


def offer_a_seat(session, *, now=None) -> WaitlistEntry:
    session.tickets.filter(attendee_name="Holder 0").update(
        status=TicketStatus.CANCELLED
    )
    (entry,) = services.session_waitlist_offer(session_id=session.pk, now=now)
    entry.refresh_from_db()
    return entry


def take(client, entry):
    return client.post(f"/waiting-list/place/{entry.token}/", {"action": "take"})


def test_paying_for_an_offer_keeps_the_offers_hold(client, stripe, full_session):
    entry = offer_a_seat(full_session)
    offer_ends = entry.order.hold_expires_at
    response = take(client, entry)
    order = Order.objects.get(pk=entry.order_id)
    assert response.status_code == 302
    assert (
        response["Location"] == stripe.sessions[order.stripe_checkout_session_id]["url"]
    )
    # Not Stripe's half hour: the seat stays held for the rest of the offer.
    assert order.hold_expires_at == offer_ends
    [create] = stripe.calls("POST", "/v1/checkout/sessions")
    # Stripe's session ends with the offer, less the grace the webhook needs.
    expires_at = int(create.params["expires_at"])
    assert expires_at == int((offer_ends - payments.HOLD_GRACE).timestamp())
    assert expires_at <= int((timezone.now() + timedelta(hours=24)).timestamp())
    back = urlsplit(create.params["cancel_url"])
    assert back.path == f"/waiting-list/place/{entry.token}/"


def test_going_back_from_stripe_leaves_the_offer_open_to_pay_again(
    client, stripe, full_session
):
    entry = offer_a_seat(full_session)
    take(client, entry)
    [create] = stripe.calls("POST", "/v1/checkout/sessions")
    back = urlsplit(create.params["cancel_url"])
    page = client.get(f"{back.path}?{back.query}").content.decode()
    assert "nothing was charged" in page
    assert "A seat is held for you until" in page and "Take the seat" in page
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    assert entry.order.status == OrderStatus.PENDING
    assert services.seats_taken(full_session.pk, now=timezone.now()) == 2
    assert not stripe.calls("POST", "/v1/checkout/sessions/")  # nothing expired
    # Taking it again leads to the same, still open, Checkout Session.
    again = take(client, entry)
    entry.refresh_from_db()
    checkout_id = entry.order.stripe_checkout_session_id
    assert again["Location"] == stripe.sessions[checkout_id]["url"]
    assert len(stripe.calls("POST", "/v1/checkout/sessions")) == 1


def test_an_expired_checkout_is_replaced_while_the_offer_runs(
    client, stripe, full_session
):
    entry = offer_a_seat(full_session)
    take(client, entry)
    order = Order.objects.get(pk=entry.order_id)
    first = order.stripe_checkout_session_id
    stripe.expire(first)
    assert (
        deliver(
            client, stripe, stripe.event("checkout.session.expired", first)
        ).status_code
        == 200
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING  # the offer has hours left
    response = take(client, entry)
    order.refresh_from_db()
    fresh = order.stripe_checkout_session_id
    assert fresh != first
    assert response["Location"] == stripe.sessions[fresh]["url"]
    creates = stripe.calls("POST", "/v1/checkout/sessions")
    assert [r.headers["idempotency-key"] for r in creates] == [
        f"checkout-{order.reference}",
        f"checkout-{order.reference}-after-{first}",
    ]
    # The first session's expiry, delivered again late, releases nothing.
    late = stripe.event("checkout.session.expired", first)
    assert deliver(client, stripe, late).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    # And the fresh one pays for the seat.
    stripe.complete(fresh)
    client.get(f"/orders/{order.token}/")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    services.session_waitlist_offer(session_id=full_session.pk)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED


def test_a_week_long_offer_asks_stripe_for_a_day_and_is_freed_when_it_ends(
    client, stripe, full_session, home_page
):
    setting = WaitlistSettings.for_site(home_page.get_site())
    setting.offer_hours = 168
    setting.save()
    entry = offer_a_seat(full_session)
    offer_ends = entry.order.hold_expires_at
    before = timezone.now()
    take(client, entry)
    [create] = stripe.calls("POST", "/v1/checkout/sessions")
    # Stripe keeps a session open for a day at most.
    lifetime = int(create.params["expires_at"]) - int(before.timestamp())
    assert 23 * 3600 < lifetime <= 24 * 3600
    order = Order.objects.get(pk=entry.order_id)
    assert order.hold_expires_at == offer_ends
    # A day later Stripe closes it; the offer still has six days.
    stripe.expire(order.stripe_checkout_session_id)
    services.order_sync(order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    # The offer ends (a week on): the seat goes to Ben, and the order is
    # closed for good by the periodic job.
    Order.objects.filter(pk=order.pk).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )
    (ben,) = services.session_waitlist_offer(session_id=full_session.pk)
    assert ben.email == "ben@example.com"
    assert services.orders_reconcile()["changed"] == 1
    order.refresh_from_db()
    entry.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert entry.status == WaitlistStatus.LAPSED


def test_a_seat_taken_in_the_offers_last_minutes_is_held_while_stripe_can_be_paid(
    client, stripe, full_session
):
    entry = offer_a_seat(full_session)
    soon = timezone.now() + timedelta(minutes=5)
    Order.objects.filter(pk=entry.order_id).update(hold_expires_at=soon)
    WaitlistEntry.objects.filter(pk=entry.pk).update(offer_expires_at=soon)
    before = timezone.now()
    take(client, entry)
    [create] = stripe.calls("POST", "/v1/checkout/sessions")
    expires_at = int(create.params["expires_at"])
    assert expires_at - int(before.timestamp()) > 30 * 60  # Stripe's shortest
    order = Order.objects.get(pk=entry.order_id)
    assert int(order.hold_expires_at.timestamp()) == expires_at + int(
        payments.HOLD_GRACE.total_seconds()
    )
    page = client.get(f"/waiting-list/place/{entry.token}/").content.decode()
    assert timezone.localtime(order.hold_expires_at).strftime("%-I:%M") in page


def test_an_offers_old_cancel_link_leads_back_to_the_offer(
    client, stripe, full_session
):
    """A Checkout Session made before "back" led to the offer page."""
    entry = offer_a_seat(full_session)
    take(client, entry)
    response = client.get(f"/orders/{entry.order.token}/cancelled/")
    assert response.status_code == 302
    assert response["Location"] == f"/waiting-list/place/{entry.token}/?back"
    entry.refresh_from_db()
    assert entry.order.status == OrderStatus.PENDING
    assert not stripe.calls("POST", "/v1/checkout/sessions/")


def test_letting_the_seat_go_after_opening_checkout_closes_it_at_stripe(
    client, stripe, full_session
):
    entry = offer_a_seat(full_session)
    take(client, entry)
    checkout_id = Order.objects.get(pk=entry.order_id).stripe_checkout_session_id
    client.post(f"/waiting-list/place/{entry.token}/", {"action": "leave"})
    assert stripe.sessions[checkout_id]["status"] == "expired"
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.LEFT
    assert entry.order.status == OrderStatus.CANCELLED
    ben = WaitlistEntry.objects.get(email="ben@example.com")
    assert ben.status == WaitlistStatus.OFFERED


def test_an_order_released_while_stripe_answered_cannot_be_paid(stripe, full_session):
    entry = offer_a_seat(full_session)
    order = Order.objects.get(pk=entry.order_id)
    # The sweep lapsed it while the Checkout Session was being made.
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.EXPIRED)
    with pytest.raises(services.CheckoutError):
        services.order_start_payment(
            order=order, success_url="https://x.test/ok", cancel_url="https://x.test/"
        )
    [checkout_id] = stripe.sessions
    assert stripe.sessions[checkout_id]["status"] == "expired"
    order.refresh_from_db()
    assert order.stripe_checkout_session_id == ""


def test_an_ordinary_checkout_still_ends_in_stripes_shortest_time(
    client, stripe, full_session
):
    """Only offers keep a longer hold: a booking's seats return within the hour."""
    ticket_type = TicketType.objects.get(price=Decimal("350.00"))
    other = WorkshopSessionFactory(workshop=full_session.workshop)
    order = services.order_create(
        session_id=other.pk,
        ticket_type_id=ticket_type.pk,
        quantity=1,
        buyer_name="Cy",
        buyer_email="cy@example.com",
        buyer_time_zone="UTC",
        attendees=[services.Attendee("Cy", "cy@example.com")],
    )
    before = timezone.now()
    services.order_start_payment(
        order=order, success_url="https://x.test/ok", cancel_url="https://x.test/"
    )
    order.refresh_from_db()
    assert order.hold_expires_at - before < timedelta(minutes=45)


def test_in_demo_mode_cancelling_the_stand_in_payment_keeps_the_offer(
    client, demo_checkout, full_session
):
    entry = offer_a_seat(full_session)
    response = take(client, entry)
    assert response["Location"] == f"/orders/{entry.order.token}/demo-payment/"
    back = client.post(response["Location"], {"action": "cancel"})
    assert back["Location"] == f"/waiting-list/place/{entry.token}/?back"
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    assert entry.order.status == OrderStatus.PENDING
    client.post(take(client, entry)["Location"], {"action": "pay"})
    entry.order.refresh_from_db()
    assert entry.order.status == OrderStatus.PAID


def test_coming_back_again_and_again_holds_the_seat_no_longer_than_the_offer(
    client, stripe, full_session
):
    """Each fresh Checkout Session once pushed the hold later, and the offer's
    end was read from that hold: the holder could keep the seat for ever."""
    entry = offer_a_seat(full_session)
    offer_ends = entry.offer_expires_at
    take(client, entry)
    for _ in range(4):
        order = Order.objects.get(pk=entry.order_id)
        # Stripe closes the session; the holder comes back just before the hold ends.
        stripe.expire(order.stripe_checkout_session_id)
        with freeze_time(order.hold_expires_at - timedelta(minutes=5)):
            take(client, entry)
    order.refresh_from_db()
    # One session taken in the offer's last minutes, then none after its end.
    assert len(stripe.calls("POST", "/v1/checkout/sessions")) == 2
    assert order.hold_expires_at <= (
        offer_ends + payments.CHECKOUT_LIFETIME + payments.HOLD_GRACE
    )
    with freeze_time(order.hold_expires_at + timedelta(seconds=1)):
        (ben,) = services.session_waitlist_offer(session_id=full_session.pk)
    assert ben.email == "ben@example.com"
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.LAPSED


def test_taking_the_seat_after_the_offers_end_is_refused_while_a_session_is_held(
    client, stripe, full_session
):
    entry = offer_a_seat(full_session)
    take(client, entry)
    # A session taken in the last minutes holds the seat past the offer's end.
    Order.objects.filter(pk=entry.order_id).update(
        hold_expires_at=entry.offer_expires_at + timedelta(minutes=30)
    )
    stripe.expire(Order.objects.get(pk=entry.order_id).stripe_checkout_session_id)
    with freeze_time(entry.offer_expires_at + timedelta(minutes=1)):
        take(client, entry)
        page = client.get(f"/waiting-list/place/{entry.token}/").content.decode()
    assert len(stripe.calls("POST", "/v1/checkout/sessions")) == 1
    assert "has gone to the next person" in page


def test_a_fresh_session_made_while_the_sweep_lapsed_the_offer_sells_no_seat_twice(
    client, stripe, full_session
):
    """The claim passes in the hold's last second; the sweep lapses the offer
    and offers Ben while Stripe makes the replacement session."""
    entry = offer_a_seat(full_session)
    take(client, entry)
    order = Order.objects.get(pk=entry.order_id)
    stripe.expire(order.stripe_checkout_session_id)
    hold_ends = order.hold_expires_at
    create = payments.checkout_session_create
    offered = []

    def slow_create(**kwargs):
        with freeze_time(hold_ends + timedelta(seconds=1)):
            offered.extend(services.session_waitlist_offer(session_id=full_session.pk))
        return create(**kwargs)

    with (
        freeze_time(hold_ends - timedelta(seconds=1)),
        mock.patch.object(payments, "checkout_session_create", slow_create),
    ):
        take(client, entry)
    assert [ben.email for ben in offered] == ["ben@example.com"]
    *_, fresh_id = stripe.sessions
    assert fresh_id != order.stripe_checkout_session_id
    # Closed at Stripe, and the hold not pushed later: Ben's seat is his.
    assert stripe.sessions[fresh_id]["status"] == "expired"
    order.refresh_from_db()
    assert order.hold_expires_at == hold_ends
    with freeze_time(hold_ends + timedelta(seconds=2)):
        taken = services.seats_taken(full_session.pk, now=timezone.now())
    assert taken == full_session.effective_capacity


def test_an_offer_paid_after_it_lapsed_is_refunded_when_its_seat_went_on(
    client, stripe, full_session
):
    """The order's hold still runs, but the sweep gave the seat to Ben."""
    entry = offer_a_seat(full_session)
    take(client, entry)
    order = Order.objects.get(pk=entry.order_id)
    WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistStatus.LAPSED)
    # Ben's offer, made by the sweep while Ada's order waited on Stripe.
    full_session.tickets.filter(attendee_name="Holder 1").update(
        status=TicketStatus.CANCELLED
    )
    (ben,) = services.session_waitlist_offer(session_id=full_session.pk)
    assert ben.email == "ben@example.com"
    stripe.complete(order.stripe_checkout_session_id)
    # And the other freed seat sold meanwhile: none is left for Ada.
    make_paid_ticket(full_session, "Dee", "dee@example.com")
    client.get(f"/orders/{order.token}/")
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert (
        services.seats_taken(full_session.pk, now=timezone.now())
        == full_session.effective_capacity
    )


def test_a_retried_week_long_offer_checkout_sends_the_same_expiry_under_its_key(
    client, stripe, full_session, home_page
):
    setting = WaitlistSettings.for_site(home_page.get_site())
    setting.offer_hours = 168
    setting.save()
    entry = offer_a_seat(full_session)
    take(client, entry)
    # Stripe made the session but its answer was lost (a timeout): nothing noted.
    Order.objects.filter(pk=entry.order_id).update(
        stripe_checkout_session_id="", stripe_checkout_url=""
    )
    with freeze_time(timezone.now() + timedelta(seconds=30)):
        take(client, entry)
    first, again = stripe.calls("POST", "/v1/checkout/sessions")
    assert first.headers["idempotency-key"] == again.headers["idempotency-key"]
    assert first.params["expires_at"] == again.params["expires_at"]


def test_a_retried_last_minute_offer_checkout_sends_the_same_expiry_under_its_key(
    client, stripe, full_session
):
    entry = offer_a_seat(full_session)
    soon = timezone.now() + timedelta(minutes=5)
    Order.objects.filter(pk=entry.order_id).update(hold_expires_at=soon)
    WaitlistEntry.objects.filter(pk=entry.pk).update(offer_expires_at=soon)
    take(client, entry)
    Order.objects.filter(pk=entry.order_id).update(
        stripe_checkout_session_id="", stripe_checkout_url=""
    )
    with freeze_time(timezone.now() + timedelta(seconds=40)):
        take(client, entry)
    first, again = stripe.calls("POST", "/v1/checkout/sessions")
    assert first.headers["idempotency-key"] == again.headers["idempotency-key"]
    assert first.params["expires_at"] == again.params["expires_at"]


BUSY = services.SessionBusy("Many people are booking this session right now.")


def test_leaving_while_the_session_is_busy_says_so_and_keeps_the_place(
    client, full_session
):
    entry = offer_a_seat(full_session)
    with mock.patch.object(services, "waitlist_leave", side_effect=BUSY):
        response = client.post(
            f"/waiting-list/place/{entry.token}/", {"action": "leave"}, follow=True
        )
    assert response.status_code == 200
    assert "You are still on the list." in response.content.decode()
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED


def test_paying_while_the_session_is_busy_says_the_seat_is_still_held(
    client, stripe, full_session
):
    entry = offer_a_seat(full_session)
    with mock.patch.object(services, "order_start_payment", side_effect=BUSY):
        response = take(client, entry)
    assert response["Location"] == f"/waiting-list/place/{entry.token}/"
    page = client.get(response["Location"]).content.decode()
    assert "The seat is still held for you." in page
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    assert entry.order.status == OrderStatus.PENDING
