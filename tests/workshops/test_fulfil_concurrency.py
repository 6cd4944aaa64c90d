"""Fulfilment under real concurrency: PostgreSQL, real threads, real row locks."""

import threading
import time
from datetime import time as clock
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from tests.workshops.factories import WorkshopSessionFactory
from workshops import services
from workshops.formatting import session_when
from workshops.models import (
    OrderStatus,
    PaymentMethod,
    SessionNotice,
    WorkshopSession,
)
from workshops.services import notices

pytestmark = [
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="SQLite takes one writer at a time; concurrency needs PostgreSQL.",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def waiting_for_a_lock() -> bool:
    """Is any other connection to this database waiting for a row lock now?"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_payment_during_a_date_change_is_confirmed_with_the_new_time(workshop, seat):
    """A date change lists the valid tickets, then commits: a payment landing in
    between must wait for it, so its confirmation shows the new time (had it come
    first, the change would have listed its ticket and queued it a notice)."""
    session = WorkshopSessionFactory(
        workshop=workshop, date=timezone.localdate() + timedelta(days=30)
    )
    order = services.order_create(
        session_id=session.pk,
        ticket_type_id=seat.pk,
        quantity=1,
        buyer_name="Ada Buyer",
        buyer_email="ada@example.com",
        buyer_time_zone=session.time_zone,
        attendees=[services.Attendee("Ada Buyer", "ada@example.com")],
    )
    old_time = session_when(session)
    session.start_time, session.end_time = clock(15), clock(18, 30)
    new_time = session_when(session)
    assert new_time != old_time

    listed, go = threading.Event(), threading.Event()
    enqueue_send = notices._enqueue_send
    errors: list[BaseException] = []

    def pause_after_listing(session_id: int) -> None:
        # Called once the change has listed the valid tickets, before it commits.
        listed.set()
        go.wait(timeout=60)
        enqueue_send(session_id)

    def reschedule() -> None:
        try:
            # The session moved to the afternoon and the change recorded in one
            # transaction, as a caller that holds them together commits them.
            with (
                transaction.atomic(),
                mock.patch.object(notices, "_enqueue_send", pause_after_listing),
            ):
                WorkshopSession.objects.filter(pk=session.pk).update(
                    start_time=session.start_time, end_time=session.end_time
                )
                services.session_reschedule(session_id=session.pk)
        except BaseException as error:  # shown by the assertion below
            errors.append(error)
        finally:
            connection.close()

    def pay() -> None:
        try:
            services.order_fulfil(
                order_id=order.pk, payment_method=PaymentMethod.STRIPE
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    changer = threading.Thread(target=reschedule)
    changer.start()
    assert listed.wait(timeout=60)
    payer = threading.Thread(target=pay)
    payer.start()
    # Let the change commit once the payment has either finished (it did not
    # wait for the session) or is waiting for the session's lock.
    while payer.is_alive() and not waiting_for_a_lock():
        time.sleep(0.01)
    go.set()
    changer.join()
    payer.join()

    assert errors == []
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    change = session.changes.get()
    told_of_the_change = SessionNotice.objects.filter(
        change=change, ticket__order=order
    ).exists()
    [confirmation] = [m for m in mail.outbox if m.subject.startswith("You’re booked")]
    # Either way the holder learns the new time: a notice of the change, or a
    # confirmation written after it; never the old time and no notice.
    assert told_of_the_change or (
        new_time in confirmation.body and old_time not in confirmation.body
    )
