"""A notice the mail server put off goes again by itself, a few times, then is
failed for staff to send again in bulk; one that may have arrived never is."""

import smtplib
from datetime import time, timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client
from django.utils import timezone
from wagtail.models import ModelLogEntry

from tests.newsletter import test_send_failures as send_failure_tests
from tests.workshops import test_notices as notice_tests
from tests.workshops.test_notices import holders, publish
from workshops import services
from workshops.models import NoticeState, SessionNotice
from workshops.services import notices
from workshops.services.notices import (
    NOTICE_ATTEMPTS,
    NOTICE_RETRY_DELAYS,
    session_notices_resend_failed,
)

pytestmark = pytest.mark.django_db

# The site's contact address, a session with a time, and `sent` (commit, then
# run the tasks), as the other notice tests have them.
contact = notice_tests.contact
session = notice_tests.session
sent = notice_tests.sent
# The SMTP stand-in on 127.0.0.1, as EMAIL_BACKEND, that fails on cue.
smtp = send_failure_tests.smtp


def states():
    return sorted(SessionNotice.objects.values_list("state", flat=True))


def send_at(session, minutes: float) -> int:
    later = timezone.now() + timedelta(minutes=minutes)
    return services.session_notices_send(session_id=session.pk, now=lambda: later)


def test_a_notice_the_server_puts_off_goes_again_after_a_wait(
    workshop, session, smtp, monkeypatch
):
    holders(session, 3)
    smtp.plan[1] = ("mail", 451, "4.3.0 Try again later", False)
    publish(workshop, start_time=time(9), end_time=time(12))
    queued = []
    monkeypatch.setattr(
        notices,
        "enqueue_on_commit",
        lambda task, *args, run_after=None: queued.append((task.name, run_after)),
    )
    # The sender, as the task queued by the publish runs it.
    services.session_notices_send(session_id=session.pk)
    assert smtp.received == []
    first = SessionNotice.objects.order_by("pk").first()
    assert first.state == NoticeState.QUEUED
    assert first.attempts == 1 and first.retry_at is not None
    assert f"Attempt 1 of {NOTICE_ATTEMPTS}" in first.detail
    # It is queued again for the moment the wait ends.
    assert queued == [("session_notices_send", first.retry_at)]
    # That run stopped there rather than try the others on a refusing server.
    assert [n.state for n in SessionNotice.objects.order_by("pk")] == [
        NoticeState.QUEUED
    ] * 3
    # The next run sends those never tried; the one put off waits its turn.
    assert send_at(session, 1) == 2
    first.refresh_from_db()
    assert first.state == NoticeState.QUEUED
    assert send_at(session, NOTICE_RETRY_DELAYS[0].total_seconds() / 60 + 1) == 1
    assert sorted(smtp.recipients()) == [f"h{n}@example.com" for n in range(3)]
    assert states() == [NoticeState.SENT] * 3


def test_after_the_last_attempt_it_fails_and_staff_send_the_failed_ones_in_bulk(
    workshop, session, smtp
):
    (holder,) = holders(session, 1)
    for number in range(1, NOTICE_ATTEMPTS + 1):
        smtp.plan[number] = ("rcpt", 452, "4.2.2 Mailbox full", False)
    publish(workshop, start_time=time(9), end_time=time(12))
    minutes = 0.0
    services.session_notices_send(session_id=session.pk)
    for delay in NOTICE_RETRY_DELAYS:
        minutes += delay.total_seconds() / 60 + 1
        send_at(session, minutes)
    notice = SessionNotice.objects.get()
    assert notice.state == NoticeState.FAILED
    assert notice.attempts == NOTICE_ATTEMPTS
    assert f"Gave up after {NOTICE_ATTEMPTS} attempts" in notice.detail
    assert smtp.received == []
    # More runs leave a failed one alone.
    assert send_at(session, minutes + 600) == 0

    # The mailbox has room again: staff send the failed ones again.
    assert session_notices_resend_failed(session_id=session.pk) == 1
    assert session_notices_resend_failed(session_id=session.pk) == 0
    services.session_notices_send(session_id=session.pk)
    assert smtp.recipients() == [holder.attendee_email]
    notice.refresh_from_db()
    assert notice.state == NoticeState.SENT and notice.attempts == 1


class DroppedAfterData(BaseEmailBackend):
    """The connection drops after the message went: it may well have arrived."""

    calls = 0

    def send_messages(self, messages):
        type(self).calls += 1
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_a_send_that_may_have_arrived_is_uncertain_and_never_resent_by_itself(
    workshop, session, settings
):
    holders(session, 2)
    settings.EMAIL_BACKEND = "tests.workshops.test_notices_retry.DroppedAfterData"
    DroppedAfterData.calls = 0
    publish(workshop, start_time=time(9), end_time=time(12))
    services.session_notices_send(session_id=session.pk)
    assert states() == [NoticeState.UNCERTAIN] * 2
    assert DroppedAfterData.calls == 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send_at(session, 600)
    services.notices_reconcile()
    # Nor by the bulk action: it takes failed ones only.
    assert session_notices_resend_failed(session_id=session.pk) == 0
    assert mail.outbox == []
    assert states() == [NoticeState.UNCERTAIN] * 2


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused(
            {message.to[0]: (550, b"5.1.1 No such user") for message in messages}
        )


def fail_all(workshop, session, settings, count=2):
    tickets = holders(session, count)
    settings.EMAIL_BACKEND = "tests.workshops.test_notices_retry.RefusingBackend"
    publish(workshop, start_time=time(9), end_time=time(12))
    services.session_notices_send(session_id=session.pk)
    assert states() == [NoticeState.FAILED] * count
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return tickets


def test_a_double_click_on_send_failed_ones_again_sends_each_once(
    workshop, session, settings, sales_user, sent
):
    fail_all(workshop, session, settings)
    client = Client()
    client.force_login(sales_user)
    log = client.get(f"/admin/workshops/notices/?session={session.pk}")
    action = f"/admin/workshops/notices/session/{session.pk}/resend-failed/"
    assert "Send failed ones again (2)" in log.content.decode()
    assert action in log.content.decode()
    page = client.get(action)
    assert page.status_code == 200 and "h0@example.com" in page.content.decode()
    assert states() == [NoticeState.FAILED] * 2  # a GET changes nothing
    with sent():
        first = client.post(action)
        second = client.post(action)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == f"/admin/workshops/notices/?session={session.pk}"
    assert sorted(m.to[0] for m in mail.outbox) == ["h0@example.com", "h1@example.com"]
    assert states() == [NoticeState.SENT] * 2
    assert ModelLogEntry.objects.filter(action="workshops.notice.resent").count() == 2
    # Nothing failed now: no button.
    log = client.get(f"/admin/workshops/notices/?session={session.pk}")
    assert "Send failed ones again" not in log.content.decode()


def test_the_bulk_resend_needs_the_permission_a_post_and_the_csrf_token(
    workshop, session, settings, sales_user, editor_user
):
    fail_all(workshop, session, settings)
    action = f"/admin/workshops/notices/session/{session.pk}/resend-failed/"
    editor = Client()
    editor.force_login(editor_user)
    # Wagtail answers a refused permission by sending them to the dashboard.
    refused = editor.post(action)
    assert (refused.status_code, refused["Location"]) == (302, "/admin/")
    log = editor.get(f"/admin/workshops/notices/?session={session.pk}")
    assert "Send failed ones again" not in log.content.decode()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(sales_user)
    assert strict.post(action).status_code == 403
    assert Client().post(action).status_code == 302  # to the login page
    staff = Client()
    staff.force_login(sales_user)
    assert staff.put(action).status_code == 405
    assert states() == [NoticeState.FAILED] * 2
    assert mail.outbox == []
