"""Date-change notices under a real kill: PostgreSQL, a real process, SIGKILL."""

import os
import smtplib
import subprocess
import sys
from collections import Counter
from datetime import time, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.utils import timezone

from tests.workshops.factories import WorkshopSessionFactory, make_paid_ticket
from workshops import services
from workshops.models import NoticeState, WorkshopPage

pytestmark = [
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="SQLite takes one writer at a time; a killed writer needs PostgreSQL.",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WORKER = Path(__file__).with_name("notice_worker_process.py")


def database_url() -> str:
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    return (
        f"postgres://{database['USER']}{password}@{database['HOST']}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )


def test_a_killed_sender_and_a_rerun_tell_everyone_once(workshop, tmp_path):
    session = WorkshopSessionFactory(
        workshop=workshop, date=timezone.localdate() + timedelta(days=30)
    )
    tickets = [
        make_paid_ticket(session, f"Holder {n}", f"holder{n}@example.com")
        for n in range(10)
    ]
    page = WorkshopPage.objects.get(pk=workshop.pk)
    sessions = list(page.sessions.all())
    sessions[0].start_time, sessions[0].end_time = time(15), time(18)
    page.sessions = sessions
    page.save_revision().publish()
    change = session.changes.get()
    assert change.notices.count() == 10

    log = tmp_path / "mail.log"
    process = subprocess.run(
        [sys.executable, str(WORKER), str(session.pk)],
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "NOTICE_MAIL_LOG": str(log),
            "NOTICE_KILL_AFTER": "4",
        },
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == -9, process.stderr.decode()[-2000:]
    first_run = log.read_text().splitlines()
    assert len(first_run) == 4
    assert Counter(change.notices.values_list("state", flat=True)) == Counter(
        {NoticeState.SENT: 3, NoticeState.SENDING: 1, NoticeState.QUEUED: 6}
    )

    # The task runs again (the worker retried it, or the next change queued
    # it): once the dead sender's lease has passed, its notice shows as
    # uncertain and is not sent again; everyone still queued gets theirs.
    later = timezone.now() + services.notices.NOTICE_LEASE + timedelta(seconds=1)
    assert services.session_notices_send(session_id=session.pk, now=lambda: later) == 6
    # And a third run, as a duplicate task would: nothing.
    assert services.session_notices_send(session_id=session.pk, now=lambda: later) == 0

    received = Counter(first_run + [message.to[0] for message in mail.outbox])
    assert received == Counter({ticket.attendee_email: 1 for ticket in tickets})
    assert Counter(change.notices.values_list("state", flat=True)) == Counter(
        {NoticeState.SENT: 9, NoticeState.UNCERTAIN: 1}
    )


def test_two_senders_at_once_tell_each_holder_once(workshop):
    import threading

    session = WorkshopSessionFactory(
        workshop=workshop, date=timezone.localdate() + timedelta(days=30)
    )
    tickets = [
        make_paid_ticket(session, f"Holder {n}", f"holder{n}@example.com")
        for n in range(30)
    ]
    page = WorkshopPage.objects.get(pk=workshop.pk)
    sessions = list(page.sessions.all())
    sessions[0].start_time, sessions[0].end_time = time(8), time(11)
    page.sessions = sessions
    page.save_revision().publish()

    barrier = threading.Barrier(2)
    counts = []

    def sender() -> None:
        barrier.wait()
        try:
            counts.append(services.session_notices_send(session_id=session.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(counts) == 30
    assert Counter(message.to[0] for message in mail.outbox) == Counter(
        {ticket.attendee_email: 1 for ticket in tickets}
    )


class RefusingBackend(BaseEmailBackend):
    """Every recipient refused for good (550): the notices end failed."""

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused(
            {message.to[0]: (550, b"5.1.1 No such user") for message in messages}
        )


def test_two_clicks_at_once_on_send_failed_ones_again_tell_each_holder_once(
    workshop, settings
):
    import threading

    from workshops.services.notices import session_notices_resend_failed

    session = WorkshopSessionFactory(
        workshop=workshop, date=timezone.localdate() + timedelta(days=30)
    )
    tickets = [
        make_paid_ticket(session, f"Holder {n}", f"holder{n}@example.com")
        for n in range(10)
    ]
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    page = WorkshopPage.objects.get(pk=workshop.pk)
    sessions = list(page.sessions.all())
    sessions[0].start_time, sessions[0].end_time = time(7), time(10)
    page.sessions = sessions
    page.save_revision().publish()
    services.session_notices_send(session_id=session.pk)
    change = session.changes.get()
    assert set(change.notices.values_list("state", flat=True)) == {NoticeState.FAILED}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    # Two staff (or one double click) at once, each followed by a sender.
    barrier = threading.Barrier(2)
    queued, sent = [], []

    def click() -> None:
        barrier.wait()
        try:
            queued.append(session_notices_resend_failed(session_id=session.pk))
            sent.append(services.session_notices_send(session_id=session.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(queued) == [0, 10]
    assert sum(sent) == 10
    assert Counter(message.to[0] for message in mail.outbox) == Counter(
        {ticket.attendee_email: 1 for ticket in tickets}
    )
