"""Checkout benchmark: create-order + create-Checkout-Session throughput, and oversell.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_checkout \\
        .venv/bin/python bench/checkout.py [--processes 8] [--seconds 10]

Needs a throwaway PostgreSQL database (it is emptied first). Starts the Stripe
stand-in from the tests on 127.0.0.1 (it answers at once), then runs buyer
processes that each call the same services as the checkout view: hold the seats
under the session lock (`order_create`), then create the Checkout Session through
the real `stripe` client (`order_start_payment`). Two scenarios:

- spread: 50 sessions of 20 seats, buyers pick sessions at random until sold out;
- contended: every buyer on one session of 30,000 seats, so every checkout waits
  for the same row lock.

Prints checkouts per second and, per scenario, the oversell count (seats held or
sold beyond capacity, which must be 0). Asserts nothing.
"""

import argparse
import multiprocessing
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESET_SQL  # noqa: E402


def configure(stripe_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        STRIPE_SECRET_KEY="sk_test_bench",
        STRIPE_WEBHOOK_SECRET="whsec_bench",
        STRIPE_API_BASE=stripe_url,
        LOG_LEVEL="WARNING",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    import django

    django.setup()


def prepare(sessions: int, capacity: int) -> tuple[list[int], int]:
    from datetime import time as clock
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from home.models import HomePage
    from workshops.models import (
        ScheduleIndexPage,
        TicketType,
        WorkshopPage,
        WorkshopSession,
    )

    with connection.cursor() as cursor:
        cursor.execute(RESET_SQL)
    call_command("migrate", verbosity=0)
    root = HomePage.get_first_root_node()
    home = root.add_child(
        instance=HomePage(title="Bench", slug="bench", introduction=".")
    )
    schedule = home.add_child(instance=ScheduleIndexPage(title="Schedule", slug="s"))
    workshop = schedule.add_child(
        instance=WorkshopPage(title="Responding", slug="r", summary=".", capacity=20)
    )
    start = timezone.localdate() + timedelta(days=10)
    ids = [
        WorkshopSession.objects.create(
            workshop=workshop,
            date=start + timedelta(days=n),
            start_time=clock(10),
            end_time=clock(13),
            capacity=capacity,
        ).pk
        for n in range(sessions)
    ]
    seat = TicketType.objects.create(name="Seat", price=Decimal("350"), max_per_order=4)
    seat.workshops.set([workshop])
    return ids, seat.pk


def buyer(stripe_url, session_ids, ticket_type_id, seconds, seed, results) -> None:
    configure(stripe_url)
    from workshops import services

    rng = random.Random(seed)
    open_sessions = list(session_ids)
    done = refused = 0
    began = time.time()
    deadline = time.monotonic() + seconds
    while open_sessions and time.monotonic() < deadline:
        session_id = rng.choice(open_sessions)
        quantity = rng.choice([1, 1, 1, 2])
        try:
            order = services.order_create(
                session_id=session_id,
                ticket_type_id=ticket_type_id,
                quantity=quantity,
                buyer_name="Bench Buyer",
                buyer_email=f"buyer{seed}-{done}-{refused}@example.com",
                buyer_time_zone="UTC",
                attendees=[services.Attendee("Bench", "b@example.com")] * quantity,
            )
        except services.CheckoutError as error:
            refused += 1
            if "sold out" in str(error):
                open_sessions.remove(session_id)
            continue
        services.order_start_payment(
            order=order,
            success_url="http://127.0.0.1/ok",
            cancel_url="http://127.0.0.1/cancel",
        )
        done += 1
    results.put((done, refused, began, time.time()))


def oversold() -> int:
    from django.db.models import Count

    from workshops.models import WorkshopSession, seat_holding_q

    sessions = WorkshopSession.objects.annotate(
        taken=Count("tickets", filter=seat_holding_q(prefix="tickets__"))
    )
    return sum(max(0, s.taken - s.effective_capacity) for s in sessions)


def run(label, processes, seconds, sessions, capacity, stripe) -> None:
    session_ids, ticket_type_id = prepare(sessions, capacity)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(
            target=buyer,
            args=(stripe.url, session_ids, ticket_type_id, seconds, n, results),
        )
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    totals = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    # From the first buyer ready to the last one done: start-up is not counted.
    elapsed = max(t[3] for t in totals) - min(t[2] for t in totals)
    done = sum(t[0] for t in totals)
    refused = sum(t[1] for t in totals)
    created = len(stripe.calls("POST", "/v1/checkout/sessions"))
    print(
        f"{label:10} {processes:>9} {done:>9} {refused:>8} {done / elapsed:>10.1f} "
        f"{created:>15} {oversold():>9}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a throwaway PostgreSQL database.")

    from tests.workshops import stripe_standin

    stripe, server = stripe_standin.start()
    configure(stripe.url)
    print(
        f"{os.cpu_count()} CPUs; buyers are processes; the Stripe stand-in answers "
        "at once.\n"
    )
    print(
        f"{'scenario':10} {'processes':>9} {'checkouts':>9} {'refused':>8} "
        f"{'per second':>10} {'Stripe sessions':>15} {'oversold':>9}"
    )
    try:
        run("spread", args.processes, args.seconds, 50, 20, stripe)
        stripe.requests.clear()
        run("contended", args.processes, args.seconds, 1, 30_000, stripe)
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
