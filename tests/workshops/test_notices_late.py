"""Late notices: a retry or a resend that comes after later changes, moves and
hand-overs tells each calendar what holds now, and tells nobody else."""

import smtplib
from datetime import time, timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as Locmem
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.workshops import test_notices as notice_tests
from tests.workshops.calendars import calendar_part
from tests.workshops.factories import WorkshopSessionFactory, make_paid_ticket
from tests.workshops.test_notices import holders, publish
from workshops import services
from workshops.models import NoticeReason, NoticeState, SessionNotice, SessionStatus
from workshops.models.notices import (
    MOVED_ON_DETAIL,
    STILL_HOLDS_DETAIL,
    SUPERSEDED_DETAIL,
)
from workshops.services.notices import NoticeError, session_notices_resend_failed

pytestmark = pytest.mark.django_db

contact = notice_tests.contact
session = notice_tests.session

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


class Refusing(Locmem):
    """Every recipient refused for good: the notices end failed."""

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({m.to[0]: (550, b"no") for m in messages})


class Plan(Locmem):
    """Answers each call as `plan` says (by call number), else delivers."""

    plan: dict[int, Exception] = {}
    calls = 0

    def send_messages(self, messages):
        type(self).calls += 1
        if error := self.plan.get(type(self).calls):
            raise error
        return super().send_messages(messages)


@pytest.fixture
def plan(settings):
    Plan.calls, Plan.plan = 0, {}
    settings.EMAIL_BACKEND = f"{__name__}.Plan"
    return Plan.plan


def later(minutes: float):
    moment = timezone.now() + timedelta(minutes=minutes)
    return lambda: moment


def calendars(messages=None) -> list[tuple[str, str, str]]:
    """(method, UID, attendee) of each email's calendar part, in order sent."""
    seen = []
    for message in mail.outbox if messages is None else messages:
        try:
            method, calendar = calendar_part(message)
        except AssertionError:
            continue
        event = calendar.walk("VEVENT")[0]
        seen.append((method, str(event["UID"]), str(event["ATTENDEE"])))
    return seen


def another_date(workshop, session, days: int, **fields):
    return WorkshopSessionFactory(
        workshop=workshop, date=session.date + timedelta(days=days), **fields
    )


# -- 1. A change's notice after a later change --------------------------------


def test_an_old_failed_cancel_is_not_sent_again_once_the_session_is_reinstated(
    workshop, session, settings, sales_user
):
    (ticket,) = holders(session, 1)
    settings.EMAIL_BACKEND = f"{__name__}.Refusing"
    publish(workshop, status=SessionStatus.CANCELLED)
    services.session_notices_send(session_id=session.pk)
    cancel = SessionNotice.objects.get()
    assert cancel.state == NoticeState.FAILED
    settings.EMAIL_BACKEND = LOCMEM
    publish(workshop, status=SessionStatus.SCHEDULED)
    services.session_notices_send(session_id=session.pk)
    assert [method for method, _, _ in calendars()] == ["REQUEST"]

    # No button, no bulk resend, no single resend of the stale CANCEL.
    client = Client()
    client.force_login(sales_user)
    log = client.get(f"/admin/workshops/notices/?session={session.pk}")
    assert "Send failed ones again" not in log.content.decode()
    assert session_notices_resend_failed(session_id=session.pk) == 0
    with pytest.raises(NoticeError, match="later change"):
        services.session_notice_resend(notice_id=cancel.pk)
    services.session_notices_send(session_id=session.pk)
    assert [method for method, _, _ in calendars()] == ["REQUEST"]
    cancel.refresh_from_db()
    assert cancel.state == NoticeState.FAILED


def test_a_stale_notice_queued_before_a_publish_is_skipped_when_it_comes_up(
    workshop, session, settings
):
    """A resend that read the rows before a publish committed: the sender checks."""
    holders(session, 1)
    settings.EMAIL_BACKEND = f"{__name__}.Refusing"
    publish(workshop, start_time=time(9), end_time=time(12))
    services.session_notices_send(session_id=session.pk)
    old = SessionNotice.objects.get()
    settings.EMAIL_BACKEND = LOCMEM
    publish(workshop, status=SessionStatus.CANCELLED)
    # Queued again as the resend had, without the publish's skip seeing it.
    SessionNotice.objects.filter(pk=old.pk).resend()
    services.session_notices_send(session_id=session.pk)

    assert [method for method, _, _ in calendars()] == ["CANCEL"]
    old.refresh_from_db()
    assert (old.state, old.detail) == (NoticeState.SKIPPED, SUPERSEDED_DETAIL)


# -- 2. A move's CANCEL goes to whoever held the old date -----------------------


def test_a_ticket_moved_then_cancelled_still_leaves_the_old_date(
    workshop, session, commit
):
    (ticket,) = holders(session, 1)
    other = another_date(workshop, session, 14)
    services.ticket_move(ticket_id=ticket.pk, session_id=other.pk)
    with commit():
        services.ticket_cancel(ticket_id=ticket.pk, refund=False)
    services.session_notices_send(session_id=session.pk)
    services.session_notices_send(session_id=other.pk)

    sent = calendars()
    assert ("CANCEL", session.calendar_uid, "mailto:h0@example.com") in sent
    assert ("CANCEL", other.calendar_uid, "mailto:h0@example.com") in sent
    assert ("REQUEST", other.calendar_uid, "mailto:h0@example.com") not in sent


def test_a_move_handed_on_before_its_cancel_goes_withdraws_the_first_holders_entry(
    workshop, session
):
    (ticket,) = holders(session, 1)
    other = another_date(workshop, session, 14)
    services.ticket_move(ticket_id=ticket.pk, session_id=other.pk)
    services.ticket_update_attendee(
        ticket_id=ticket.pk, name="Colleague", email="colleague@example.com"
    )
    mail.outbox.clear()
    services.session_notices_send(session_id=session.pk)

    (message,) = mail.outbox
    assert message.to == ["h0@example.com"]
    assert calendars() == [("CANCEL", session.calendar_uid, "mailto:h0@example.com")]
    # Not the new holder's private link.
    ticket.refresh_from_db()
    assert ticket.token not in message.body
    assert "Hello Holder 0" in message.body


def test_a_moves_cancel_is_skipped_while_the_address_keeps_another_seat_there(
    workshop, session
):
    first = make_paid_ticket(session, "Ada", "ada@example.com")
    make_paid_ticket(session, "Ada", "ada@example.com")
    other = another_date(workshop, session, 14)
    services.ticket_move(ticket_id=first.pk, session_id=other.pk)
    services.session_notices_send(session_id=session.pk)

    assert calendars() == []
    notice = SessionNotice.objects.get(reason=NoticeReason.MOVED_OUT)
    assert (notice.state, notice.detail) == (NoticeState.SKIPPED, STILL_HOLDS_DETAIL)


# -- 3. A move's pair retried after later moves --------------------------------


def test_moved_away_and_back_while_the_cancel_waits_ends_with_the_date_in_calendar(
    workshop, session, plan
):
    (ticket,) = holders(session, 1)
    other = another_date(workshop, session, 14)
    plan[1] = smtplib.SMTPRecipientsRefused({"h0@example.com": (451, b"later")})
    services.ticket_move(ticket_id=ticket.pk, session_id=other.pk)
    services.session_notices_send(session_id=session.pk)  # CANCEL A put off
    services.session_notices_send(session_id=other.pk)  # REQUEST B
    services.ticket_move(ticket_id=ticket.pk, session_id=session.pk)  # back to A
    services.session_notices_send(session_id=other.pk)  # CANCEL B
    services.session_notices_send(session_id=session.pk, now=later(5))

    of_a = [method for method, uid, _ in calendars() if uid == session.calendar_uid]
    assert of_a == ["REQUEST"]
    first_cancel = SessionNotice.objects.get(
        reason=NoticeReason.MOVED_OUT, session=session
    )
    assert first_cancel.detail == STILL_HOLDS_DETAIL


def test_a_failed_request_resent_after_the_ticket_moved_on_tells_nobody(
    workshop, session, plan
):
    (ticket,) = holders(session, 1)
    b = another_date(workshop, session, 14, meeting_url="https://meet.example/b-only")
    c = another_date(workshop, session, 21)
    plan[2] = smtplib.SMTPRecipientsRefused({"h0@example.com": (550, b"no")})
    services.ticket_move(ticket_id=ticket.pk, session_id=b.pk)
    services.session_notices_send(session_id=session.pk)  # CANCEL A
    services.session_notices_send(session_id=b.pk)  # REQUEST B refused
    services.ticket_move(ticket_id=ticket.pk, session_id=c.pk)
    services.session_notices_send(session_id=b.pk)
    services.session_notices_send(session_id=c.pk)
    mail.outbox.clear()

    assert session_notices_resend_failed(session_id=b.pk) == 1
    services.session_notices_send(session_id=b.pk)

    assert mail.outbox == []
    request_b = SessionNotice.objects.get(reason=NoticeReason.MOVED_IN, session=b)
    assert (request_b.state, request_b.detail) == (NoticeState.SKIPPED, MOVED_ON_DETAIL)


# -- 4. One outage does not walk the queue ------------------------------------


def test_a_refused_login_stops_the_run_and_leaves_the_rest_queued(
    workshop, session, plan
):
    holders(session, 3)
    plan[1] = smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials")
    publish(workshop, start_time=time(9), end_time=time(12))
    services.session_notices_send(session_id=session.pk)

    assert Plan.calls == 1
    assert sorted(SessionNotice.objects.values_list("state", flat=True)) == [
        NoticeState.FAILED,
        NoticeState.QUEUED,
        NoticeState.QUEUED,
    ]


def test_a_connect_timeout_puts_the_notice_off_instead_of_leaving_it_uncertain(
    workshop, session, plan
):
    holders(session, 2)
    plan[1] = TimeoutError("timed out")
    publish(workshop, start_time=time(9), end_time=time(12))
    services.session_notices_send(session_id=session.pk)
    assert mail.outbox == []

    services.session_notices_send(session_id=session.pk, now=later(5))
    assert sorted(m.to[0] for m in mail.outbox) == ["h0@example.com", "h1@example.com"]
    assert set(SessionNotice.objects.values_list("state", flat=True)) == {
        NoticeState.SENT
    }


# -- 6. The log's queries ------------------------------------------------------


def test_the_notice_log_takes_as_many_queries_for_many_rows_as_for_few(
    workshop, session, sales_user
):
    holders(session, 2)
    publish(workshop, start_time=time(9), end_time=time(12))
    client = Client()
    client.force_login(sales_user)
    client.get("/admin/workshops/notices/")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/admin/workshops/notices/").status_code == 200
    for number in range(10, 18):
        make_paid_ticket(session, f"Holder {number}", f"h{number}@example.com")
    publish(workshop, start_time=time(8), end_time=time(12))
    assert SessionNotice.objects.count() == 12
    with CaptureQueriesContext(connection) as many:
        client.get("/admin/workshops/notices/")
    assert len(many) == len(few)


# -- 9. A backend that cannot defer --------------------------------------------


def test_on_a_backend_that_cannot_defer_the_retry_waits_for_the_sweep(
    workshop, session, plan, settings, commit, caplog
):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
    }
    holders(session, 1)
    plan[1] = smtplib.SMTPRecipientsRefused({"h0@example.com": (451, b"later")})
    publish(workshop, start_time=time(9), end_time=time(12))
    # What the sender queues on commit is taken (no run_after refused), and
    # the put-off notice is not lost: the sweep sends it once due.
    with caplog.at_level("ERROR"), commit():
        services.session_notices_send(session_id=session.pk)
    assert [r for r in caplog.records if "on_commit" in r.getMessage()] == []
    assert services.notices_reconcile() == 0
    SessionNotice.objects.update(retry_at=timezone.now() - timedelta(seconds=1))
    assert services.notices_reconcile() == 1
    assert [m.to for m in mail.outbox] == [["h0@example.com"]]


# -- 8. A seat that ends is a notice too --------------------------------------


def test_a_cancellations_email_put_off_by_the_server_is_logged_and_sent_later(
    workshop, session, plan
):
    (ticket,) = holders(session, 1)
    plan[1] = smtplib.SMTPRecipientsRefused({"h0@example.com": (451, b"later")})
    services.ticket_cancel(ticket_id=ticket.pk, refund=False)
    services.session_notices_send(session_id=session.pk)
    assert mail.outbox == []
    notice = SessionNotice.objects.get()
    assert (notice.reason, notice.email, notice.state) == (
        NoticeReason.TICKET_CANCELLED,
        "h0@example.com",
        NoticeState.QUEUED,
    )

    services.session_notices_send(session_id=session.pk, now=later(5))
    (message,) = mail.outbox
    assert "has been cancelled" in message.body
    assert calendars() == [("CANCEL", session.calendar_uid, "mailto:h0@example.com")]


def test_a_hand_over_tells_the_holder_it_left_even_if_handed_on_again_first(
    workshop, session
):
    (ticket,) = holders(session, 1)
    services.ticket_update_attendee(
        ticket_id=ticket.pk, name="Ben", email="ben@example.com"
    )
    services.ticket_update_attendee(
        ticket_id=ticket.pk, name="Cleo", email="cleo@example.com"
    )
    services.session_notices_send(session_id=session.pk)

    withdrawn = sorted(calendars(), key=lambda seen: seen[2])
    assert withdrawn == [
        ("CANCEL", session.calendar_uid, "mailto:ben@example.com"),
        ("CANCEL", session.calendar_uid, "mailto:h0@example.com"),
    ]
    assert sorted(
        SessionNotice.objects.filter(reason=NoticeReason.HANDED_ON).values_list(
            "email", "state"
        )
    ) == [("ben@example.com", NoticeState.SENT), ("h0@example.com", NoticeState.SENT)]
