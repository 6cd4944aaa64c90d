"""Capacity under real concurrency: PostgreSQL, real threads, real row locks."""

import threading
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from workshops import services
from workshops.models import Ticket

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


def test_forty_buyers_for_twenty_seats_get_exactly_twenty(session, seat):
    def buy(index: int) -> None:
        services.order_create(
            session_id=session.pk,
            ticket_type_id=seat.pk,
            quantity=1,
            buyer_name=f"Buyer {index}",
            buyer_email=f"buyer{index}@example.com",
            buyer_time_zone="UTC",
            attendees=[services.Attendee(f"Buyer {index}", f"b{index}@example.com")],
        )

    outcomes = race(40, buy)
    assert outcomes == {"ok": 20, "CheckoutError": 20}
    assert Ticket.objects.filter(session=session).holding_seats().count() == 20


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
