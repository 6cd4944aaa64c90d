"""Capacity under real concurrency: PostgreSQL, real threads, real row locks."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from tests.workshops.checkout import book
from tests.workshops.factories import WorkshopSessionFactory
from workshops import services
from workshops.models import Order, OrderStatus, Refund, RefundStatus, Ticket

pytestmark = [
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="SQLite takes one writer at a time; concurrency needs PostgreSQL.",
    ),
    # Serialized rollback restores what migrations made (Wagtail's root page).
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def race(count: int, action) -> Counter:
    barrier = threading.Barrier(count)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def run(index: int) -> None:
        barrier.wait()
        try:
            action(index)
            outcome = "ok"
        except Exception as error:  # counted, so the assertion shows it
            outcome = type(error).__name__
        finally:
            connection.close()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def buy_one_seat(session, seat, index: int) -> None:
    services.order_create(
        session_id=session.pk,
        ticket_type_id=seat.pk,
        quantity=1,
        buyer_name=f"Buyer {index}",
        buyer_email=f"buyer{index}@example.com",
        buyer_time_zone="UTC",
        attendees=[services.Attendee(f"Buyer {index}", f"b{index}@example.com")],
        client=f"192.0.2.{index}",
    )


def test_forty_buyers_for_twenty_seats_get_exactly_twenty(session, seat):
    answers: Counter = Counter()
    lock = threading.Lock()

    def buy(index: int) -> None:
        try:
            buy_one_seat(session, seat, index)
        except services.CheckoutError as error:
            with lock:
                answers[str(error)] += 1
            raise

    outcomes = race(40, buy)
    assert outcomes == {"ok": 20, "CheckoutError": 20}
    # Each buyer's first answer: a seat, or sold out; nobody is told to try again.
    assert answers == {"Sorry, this session is sold out.": 20}
    assert Ticket.objects.filter(session=session).holding_seats().count() == 20


def lock_waits() -> list[tuple[int, object]]:
    """Backends waiting for a row lock here, with when their statement began."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, query_start FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchall()


def test_a_buyer_waits_out_a_lock_held_longer_than_one_wait(session, seat, settings):
    settings.SEAT_LOCK_TIMEOUT_MS = 200
    locked, release = threading.Event(), threading.Event()
    answer: list[str] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                services.lock_session(session.pk)
                locked.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    def buy() -> None:
        try:
            buy_one_seat(session, seat, 1)
            answer.append("seat")
        except services.CheckoutError as error:
            answer.append(str(error))
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(timeout=60)
    buyer = threading.Thread(target=buy)
    buyer.start()
    # Keep the lock until the buyer's first wait has ended and a second begun (or
    # the buyer has given up), then let go.
    first = None
    while buyer.is_alive():
        waits = lock_waits()
        if first is None and waits:
            first = waits[0]
        elif first and any(p == first[0] and t > first[1] for p, t in waits):
            break
        time.sleep(0.01)
    release.set()
    holder.join()
    buyer.join()
    assert answer == ["seat"]


def test_mixed_sizes_never_exceed_capacity(session, team_pack, seat):
    def buy(index: int) -> None:
        ticket_type = team_pack if index % 3 == 0 else seat
        seats = ticket_type.seats_per_ticket
        services.order_create(
            session_id=session.pk,
            ticket_type_id=ticket_type.pk,
            quantity=1,
            buyer_name="Buyer",
            buyer_email="buyer@example.com",
            buyer_time_zone="UTC",
            attendees=[services.Attendee("A", "a@example.com")] * seats,
        )

    race(30, buy)
    taken = Ticket.objects.filter(session=session).holding_seats().count()
    assert 16 <= taken <= 20


def test_a_slow_stripe_refund_never_keeps_a_buyer_from_a_seat(
    session, seat, stripe, run_tasks
):
    session.capacity = 3
    session.save()
    book(Client(), session, seat, quantity=2)
    late = Order.objects.get()
    Order.objects.filter(pk=late.pk).update(hold_expires_at=timezone.now())
    book(Client(), session, seat, quantity=2, buyer_email="b@example.com")
    stripe.refund_gate = threading.Event()
    answer: list[str] = []
    refunded_before_the_buyer_was_answered: list[bool] = []

    def buyer() -> None:
        try:
            stripe.refund_arrived.wait(timeout=60)  # Stripe is busy with a refund
            buy_one_seat(session, seat, 9)
            answer.append("seat")
        except services.CheckoutError as error:
            answer.append(str(error))
        finally:
            refunded_before_the_buyer_was_answered.append(bool(stripe.refunds))
            stripe.refund_gate.set()
            connection.close()

    thread = threading.Thread(target=buyer)
    thread.start()
    # Paid after its seats went: refunded in full, through a slow Stripe.
    stripe.complete(late.stripe_checkout_session_id)
    services.order_sync(order=Order.objects.get(pk=late.pk))
    run_tasks()
    thread.join()
    assert answer == ["seat"]
    assert refunded_before_the_buyer_was_answered == [False]
    late.refresh_from_db()
    assert late.status == OrderStatus.REFUNDED
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED
    assert len(stripe.refunds) == 1


def test_thirty_colleagues_redeeming_a_ten_seat_code_get_exactly_ten_tickets(
    workshop, seat
):
    """The code's seats hold under its row lock, whatever the sessions."""
    sessions = [
        WorkshopSessionFactory(
            workshop=workshop, date=timezone.localdate() + timedelta(days=20 + n)
        )
        for n in range(3)
    ]
    seat_code = services.seat_code_issue(
        seats=10,
        paid_on=timezone.localdate(),
        buyer_name="Imani",
        buyer_email="imani@example.com",
    )
    code = seat_code.code
    answers: Counter = Counter()
    lock = threading.Lock()

    def redeem(index: int) -> None:
        try:
            services.seat_code_redeem(
                code=code,
                session_id=sessions[index % 3].pk,
                ticket_type_id=seat.pk,
                quantity=1,
                buyer_name=f"Colleague {index}",
                buyer_email=f"c{index}@example.com",
                buyer_time_zone="UTC",
                attendees=[services.Attendee(f"Colleague {index}", f"c{index}@e.com")],
            )
        except services.CheckoutError as error:
            with lock:
                answers[str(error)] += 1
            raise

    outcomes = race(30, redeem)
    assert outcomes == {"ok": 10, "CodeRefused": 20}
    assert answers == {"Every seat of this code has been taken already.": 20}
    assert Ticket.objects.filter(order__seat_code=seat_code).count() == 10
    assert seat_code.seats_used() == 10


def test_code_redemptions_racing_card_buyers_never_oversell_a_session(workshop, seat):
    small = WorkshopSessionFactory(workshop=workshop, capacity=8)
    seat_code = services.seat_code_issue(
        seats=20,
        paid_on=timezone.localdate(),
        buyer_name="Imani",
        buyer_email="imani@example.com",
    )
    code = seat_code.code

    def take(index: int) -> None:
        if index % 2:
            buy_one_seat(small, seat, index)
            return
        services.seat_code_redeem(
            code=code,
            session_id=small.pk,
            ticket_type_id=seat.pk,
            quantity=1,
            buyer_name=f"Colleague {index}",
            buyer_email=f"c{index}@example.com",
            buyer_time_zone="UTC",
            attendees=[services.Attendee(f"Colleague {index}", f"c{index}@e.com")],
        )

    outcomes = race(24, take)
    assert outcomes["ok"] == 8
    assert services.seats_taken(small.pk, now=timezone.now()) == 8


def test_orders_across_two_dates_racing_single_seat_buyers_never_oversell(
    workshop, seat
):
    """Sessions locked in key order: no deadlock, and each session's seats hold."""
    first = WorkshopSessionFactory(
        workshop=workshop, date=timezone.localdate() + timedelta(days=20), capacity=6
    )
    second = WorkshopSessionFactory(
        workshop=workshop, date=timezone.localdate() + timedelta(days=40), capacity=6
    )

    def take(index: int) -> None:
        if index % 3 == 0:
            # Both dates, one seat each, listed in either order.
            dates = [first, second] if index % 2 else [second, first]
            services.order_create(
                session_id=dates[0].pk,
                ticket_type_id=seat.pk,
                quantity=1,
                also=[(dates[1].pk, 1)],
                buyer_name=f"Group {index}",
                buyer_email=f"group{index}@example.com",
                buyer_time_zone="UTC",
                attendees=[
                    services.Attendee(f"G{index}a", f"g{index}a@example.com"),
                    services.Attendee(f"G{index}b", f"g{index}b@example.com"),
                ],
                client=f"198.51.100.{index}",
            )
        else:
            buy_one_seat(first if index % 2 else second, seat, index)

    outcomes = race(30, take)
    now = timezone.now()
    assert services.seats_taken(first.pk, now=now) == 6
    assert services.seats_taken(second.pk, now=now) == 6
    assert set(outcomes) <= {"ok", "CheckoutError"}
    # All or nothing: every order holds every seat it asked for.
    for order in Order.objects.all():
        assert order.tickets.count() == order.quantity
