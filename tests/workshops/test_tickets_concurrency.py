"""Tickets changed at the same moment, on PostgreSQL with real threads: two seats
of one address cancelled together, and certificates issued beside the seat paths."""

import threading

import pytest
from django.conf import settings
from django.core import mail
from django.db import DatabaseError, connection, transaction

from tests.workshops.calendars import calendar_part
from tests.workshops.factories import WorkshopSessionFactory, make_paid_ticket
from workshops import services
from workshops.models import WorkshopSession
from workshops.services import certificates

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


def test_issuing_certificates_leaves_the_session_and_its_page_unlocked(past_session):
    """Seat paths lock the session before its tickets: certificates, which lock
    the tickets, must not also hold the session (or the workshop's page) row."""
    make_paid_ticket(past_session, "Zoë", "zoe@example.com", attended=True)
    inside, done = threading.Event(), threading.Event()
    real_issue = certificates._issue
    errors = []

    def issue_slowly(*args, **kwargs):
        inside.set()
        done.wait(timeout=10)
        return real_issue(*args, **kwargs)

    def issue() -> None:
        try:
            services.session_certificates_issue(session_id=past_session.pk)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            inside.set()
            connection.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(certificates, "_issue", issue_slowly)
        thread = threading.Thread(target=issue)
        thread.start()
        try:
            assert inside.wait(timeout=10)
            with transaction.atomic():
                try:
                    WorkshopSession.objects.select_for_update(nowait=True).get(
                        pk=past_session.pk
                    )
                    type(past_session.workshop).objects.select_for_update(
                        nowait=True
                    ).get(pk=past_session.workshop_id)
                    locked = False
                except DatabaseError:
                    locked = True
        finally:
            done.set()
            thread.join()
    assert errors == []
    assert not locked
