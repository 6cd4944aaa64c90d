"""Two seats of one address in one session cancelled at the same moment: PostgreSQL,
real threads. Whichever goes second sees the first gone, and withdraws the entry."""

import threading

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection

from tests.workshops.calendars import calendar_part
from tests.workshops.factories import WorkshopSessionFactory, make_paid_ticket
from workshops import services

pytestmark = [
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="SQLite takes one writer at a time: no two cancellations overlap.",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_both_seats_of_an_address_cancelled_at_once_withdraw_its_entry(workshop):
    session = WorkshopSessionFactory(workshop=workshop)
    seats = [make_paid_ticket(session, "Ada", "ada@example.com") for _ in range(2)]
    both = threading.Barrier(2)
    errors = []

    def cancel(ticket_id: int) -> None:
        try:
            both.wait()
            services.ticket_cancel(ticket_id=ticket_id, refund=False)
            # Its notice, as the task queued on commit sends it.
            services.session_notices_send(session_id=session.pk)
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
    assert [m.to for m in mail.outbox] == [["ada@example.com"]] * 2
    methods = []
    for message in mail.outbox:
        try:
            methods.append(calendar_part(message)[0])
        except AssertionError:
            methods.append(None)
    # The entry goes: at least the later cancellation's email withdraws it.
    assert "CANCEL" in methods
