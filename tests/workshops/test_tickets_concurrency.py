"""Two seats of one address in one session cancelled at the same moment: PostgreSQL,
real threads. Whichever goes second sees the first gone, and withdraws the entry."""

import threading
from contextlib import suppress

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection

from tests.workshops.calendars import calendar_part
from tests.workshops.factories import WorkshopSessionFactory, make_paid_ticket
from workshops import services
from workshops.services import tickets as ticket_services

pytestmark = [
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="SQLite takes one writer at a time: no two cancellations overlap.",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_both_seats_of_an_address_cancelled_at_once_withdraw_its_entry_once(
    workshop, monkeypatch
):
    session = WorkshopSessionFactory(workshop=workshop)
    seats = [make_paid_ticket(session, "Ada", "ada@example.com") for _ in range(2)]
    # Each cancellation waits here (a little) for the other to decide too: if
    # both could, neither would see the other's seat gone.
    both_deciding = threading.Barrier(2, timeout=1)
    decide = ticket_services.holds_session

    def holds_session(*args, **kwargs):
        # Broken when the other waits for the session's lock, as it should.
        with suppress(threading.BrokenBarrierError):
            both_deciding.wait()
        return decide(*args, **kwargs)

    monkeypatch.setattr(ticket_services, "holds_session", holds_session)
    errors = []

    def cancel(ticket_id: int) -> None:
        try:
            services.ticket_cancel(ticket_id=ticket_id, refund=False)
        except Exception as error:  # reported below, with the outbox
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=cancel, args=(t.pk,)) for t in seats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    methods = []
    for message in mail.outbox:
        try:
            methods.append(calendar_part(message)[0])
        except AssertionError:
            methods.append(None)
    assert sorted(methods, key=str) == ["CANCEL", None]
