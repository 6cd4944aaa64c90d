"""Date-change notices: a published change raises SEQUENCE and mails each holder once.

The mechanism (baseline, change, ledger, sender) is described in docs/notices.md.
"""

import logging
import secrets
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from wagtail.log_actions import log

from home.email import render_templated_email
from home.mail_providers import Address, Failure, classify
from home.tasks import enqueue_on_commit

from .. import tasks
from ..formatting import session_when
from ..ical import event_status
from ..models import (
    CalendarState,
    ChangeKind,
    NoticeReason,
    NoticeState,
    SessionChange,
    SessionNotice,
    Ticket,
    TicketStatus,
    WaitlistStatus,
    WorkshopPage,
    WorkshopSession,
)
from ..models.notices import (
    KEPT_ENTRY_DETAIL,
    LEFT_DETAIL,
    MOVED_ON_DETAIL,
    STILL_HOLDS_DETAIL,
    SUPERSEDED_DETAIL,
    UNCERTAIN_SEND_DETAIL,
)
from ..selectors import ticket_other_dates
from .emails import (
    default_site,
    holds_session,
    organizer_address,
    sender_for,
    ticket_calendar_invite,
    ticket_url,
)

logger = logging.getLogger(__name__)

# How long a sender may hold a notice in `sending` before another run takes it
# for dead and marks it uncertain: far longer than one SMTP call.
NOTICE_LEASE = timedelta(minutes=10)
# The waits before each automatic retry of a notice the mail server provably
# did not take (a 4xx, a refused connection, a provider's 429 or 503): about
# an hour and a half in all, longer than most outages and soon enough for a
# moved date. After the last attempt it is failed for good, for staff.
NOTICE_RETRY_DELAYS = (
    timedelta(minutes=2),
    timedelta(minutes=8),
    timedelta(minutes=30),
    timedelta(minutes=60),
)
NOTICE_ATTEMPTS = len(NOTICE_RETRY_DELAYS) + 1
# What a change compares: where the event is in a calendar and how it shows.
MATERIAL = ("date", "start_time", "end_time", "time_zone", "alternative_date", "status")


class NoticeError(Exception):
    """A reason to refuse a notice action, worded for staff."""


def session_snapshot(session: WorkshopSession) -> dict[str, Any]:
    """What a holder's calendar shows of a session, as JSON: compared, and shown."""

    def iso(value: date | time | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "date": iso(session.date),
        "start_time": iso(session.start_time),
        # The effective end, so a change of the workshop's run time counts too.
        "end_time": iso(session.local_end.time()) if session.start_time else None,
        "time_zone": session.time_zone,
        "alternative_date": iso(session.alternative_date),
        # As calendars see it (CONFIRMED, TENTATIVE, CANCELLED): sold out or
        # completed moves nothing in anyone's calendar.
        "status": event_status(session),
        "session_status": session.status,
    }


def snapshot_session(session: WorkshopSession, snapshot: dict) -> WorkshopSession:
    """An unsaved copy of `session` as a snapshot describes it, for wording times."""
    return WorkshopSession(
        workshop=session.workshop,
        date=date.fromisoformat(snapshot["date"]),
        start_time=_time(snapshot["start_time"]),
        end_time=_time(snapshot["end_time"]),
        time_zone=snapshot["time_zone"],
        alternative_date=date.fromisoformat(snapshot["alternative_date"])
        if snapshot["alternative_date"]
        else None,
        status=snapshot["session_status"],
        audience_label=session.audience_label,
    )


def _time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def _material(snapshot: dict) -> tuple:
    return tuple(snapshot.get(key) for key in MATERIAL)


def session_calendar_baseline(*, session_id: int) -> CalendarState:
    """Record what a new session's holders will be told, if not recorded yet."""
    session = WorkshopSession.objects.select_related("workshop").get(pk=session_id)
    state, _ = CalendarState.objects.get_or_create(
        session=session,
        defaults={"sequence": session.sequence, "snapshot": session_snapshot(session)},
    )
    return state


def workshop_page_published(*, page_id: int, user=None) -> list[SessionChange]:
    """A workshop page went live: each session's material change, told once."""
    page = WorkshopPage.objects.get(pk=page_id)
    message = page.notice_message.strip()
    changes = []
    for session_id in page.sessions.values_list("pk", flat=True):
        change = session_reschedule(session_id=session_id, message=message, user=user)
        if change is not None:
            changes.append(change)
    if page.notice_message:
        # Used by this publish, or by none: never by the next one.
        WorkshopPage.objects.filter(pk=page_id).update(notice_message="")
    # A raised capacity frees seats: the waiting lists hear of them.
    for session_id in (
        page.sessions.filter(waitlist__status=WaitlistStatus.WAITING)
        .values_list("pk", flat=True)
        .distinct()
    ):
        enqueue_on_commit(tasks.session_waitlist_offer, session_id)
    return changes


def session_reschedule(
    *, session_id: int, message: str = "", user=None
) -> SessionChange | None:
    """Compare a published session with what its holders were told; tell them once.

    A material change (date, times, zone, calendar status) raises SEQUENCE by
    one, records the change, queues one notice per valid ticket and the task
    that sends them. Anything else, or the same state again, changes nothing.
    """
    with transaction.atomic():
        session = (
            WorkshopSession.objects.select_for_update(of=("self",))
            .select_related("workshop")
            .get(pk=session_id)
        )
        state = CalendarState.objects.select_for_update().filter(session=session)
        state = state.first() or session_calendar_baseline(session_id=session_id)
        now = session_snapshot(session)
        change = None
        if _material(now) != _material(state.snapshot):
            change = _record_change(
                session, state=state, after=now, message=message, user=user
            )
        if session.sequence != state.sequence:
            # A page revision stores the session's fields, SEQUENCE included:
            # publishing it writes back the number it was drafted with.
            WorkshopSession.objects.filter(pk=session.pk).update(
                sequence=state.sequence
            )
    return change


def _kind(before: dict, after: dict) -> str:
    if after["status"] == "CANCELLED":
        return ChangeKind.CANCELLED
    if before["status"] == "CANCELLED":
        return ChangeKind.REINSTATED
    return ChangeKind.RESCHEDULED


def _record_change(
    session: WorkshopSession, *, state: CalendarState, after: dict, message: str, user
) -> SessionChange:
    before = state.snapshot
    state.sequence += 1
    state.snapshot = after
    state.save()
    change = SessionChange.objects.create(
        session=session,
        sequence=state.sequence,
        kind=_kind(before, after),
        before=before,
        after=after,
        message=message,
        created_by=user if getattr(user, "pk", None) else None,
    )
    # Notices of an earlier change not sent yet would show a time that no
    # longer holds: this change's notice replaces them.
    SessionNotice.objects.filter(session=session, reason=NoticeReason.CHANGE).skip(
        detail=SUPERSEDED_DETAIL
    )
    method = "CANCEL" if change.kind == ChangeKind.CANCELLED else "REQUEST"
    tickets = Ticket.objects.filter(session=session, status=TicketStatus.VALID)
    SessionNotice.objects.bulk_create(
        SessionNotice(
            session=session,
            change=change,
            ticket_id=ticket_id,
            reason=NoticeReason.CHANGE,
            method=method,
            key=f"change-{change.pk}-ticket-{ticket_id}",
        )
        for ticket_id in tickets.values_list("pk", flat=True)
    )
    log(
        session.workshop,
        "workshops.session.changed",
        user=user if getattr(user, "pk", None) else None,
        data={
            "session": session.pk,
            "sequence": state.sequence,
            "kind": change.kind,
            "before": before,
            "after": after,
        },
    )
    _enqueue_send(session.pk)
    return change


def _enqueue_send(session_id: int) -> None:
    enqueue_on_commit(tasks.session_notices_send, session_id)


def _enqueue_retry(session_id: int, *, at: datetime) -> None:
    """A send of the session's notices once the put-off ones are due.

    A backend that cannot defer (the immediate one of a local run) would
    refuse `run_after`, and a send now would find nothing due: there the
    periodic `reconcile_notices` sends them once `retry_at` has passed.
    """
    if tasks.session_notices_send.get_backend().supports_defer:
        enqueue_on_commit(tasks.session_notices_send, session_id, run_after=at)
    else:
        logger.info(
            "Notices of session %s wait for reconcile_notices: the task backend "
            "cannot defer a retry to %s",
            session_id,
            at,
        )


def ticket_moved_notify(*, ticket_id: int, from_session_id: int) -> list[SessionNotice]:
    """A ticket moved sessions: CANCEL the old entry, REQUEST the new one, once each.

    Call it from the move's transaction (`ticket_move`), after the ticket's new
    session is saved: the pair is queued with the move and sent after commit.
    The CANCEL records who holds the ticket now: the entry it withdraws is
    theirs, even if the ticket is cancelled or handed on before it goes.
    """
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        if ticket.session_id == from_session_id:
            raise NoticeError("The ticket is still for that session.")
        stamp = f"{ticket.pk}-{from_session_id}-{ticket.session_id}-" + (
            f"{ticket.updated_at.timestamp():.6f}"
        )
        notices = []
        for session_id, reason, method in (
            (from_session_id, NoticeReason.MOVED_OUT, "CANCEL"),
            (ticket.session_id, NoticeReason.MOVED_IN, "REQUEST"),
        ):
            recipient = (
                {"email": ticket.attendee_email, "name": ticket.attendee_name}
                if reason == NoticeReason.MOVED_OUT
                else {}
            )
            notice, _ = SessionNotice.objects.get_or_create(
                key=f"{reason}-{stamp}",
                defaults={
                    "session_id": session_id,
                    "ticket": ticket,
                    "reason": reason,
                    "method": method,
                    **recipient,
                },
            )
            notices.append(notice)
        for session_id in {from_session_id, ticket.session_id}:
            _enqueue_send(session_id)
    return notices


# A seat that ended (cancelled, handed on): the email that says so, which
# withdraws the holder's calendar entry.
WITHDRAWALS = {
    NoticeReason.TICKET_CANCELLED: "workshops/emails/ticket_cancelled",
    NoticeReason.HANDED_ON: "workshops/emails/ticket_handed_over",
}


def ticket_withdrawal_notify(
    *, ticket: Ticket, reason: str, name: str, email: str
) -> SessionNotice:
    """A holder's seat ended: tell them, and withdraw their calendar entry, once.

    Call it from the change's transaction (`ticket_cancel`,
    `ticket_update_attendee`), after the ticket is saved. Queued in the
    notice ledger, so it is sent after commit with the lease, the retries and
    the log; whether it carries the CANCEL is decided when it goes, by
    whether that address still holds a seat of the session then.
    """
    if reason not in WITHDRAWALS:
        raise NoticeError(f"Not a withdrawal: {reason}.")
    stamp = f"{ticket.updated_at.timestamp():.6f}"
    notice, _ = SessionNotice.objects.get_or_create(
        key=f"{reason}-{ticket.pk}-{ticket.session_id}-{stamp}",
        defaults={
            "session_id": ticket.session_id,
            "ticket": ticket,
            "reason": reason,
            "method": "CANCEL",
            "email": email,
            "name": name,
        },
    )
    _enqueue_send(ticket.session_id)
    return notice


def session_notice_resend(*, notice_id: int, user=None) -> SessionNotice:
    """Staff send one notice again (it failed, or the holder lost it)."""
    with transaction.atomic():
        notice = SessionNotice.objects.select_for_update().get(pk=notice_id)
        if notice.state in {NoticeState.QUEUED, NoticeState.SENDING}:
            raise NoticeError("This notice is on its way already.")
        if SessionNotice.objects.filter(pk=notice.pk).superseded().exists():
            # Rebuilt now it would carry today's SEQUENCE with an old method:
            # an old CANCEL would take a reinstated session out of a calendar.
            raise NoticeError(
                "A later change of the session replaced this notice: it describes "
                "times that no longer hold. Send the notice of the latest change "
                "again instead."
            )
        SessionNotice.objects.filter(pk=notice.pk).resend()
        log(
            notice.ticket,
            "workshops.notice.resent",
            user=user,
            data={"notice": notice.pk, "was": notice.state},
        )
        _enqueue_send(notice.session_id)
    notice.refresh_from_db()
    return notice


def session_notices_resend_failed(*, session_id: int, user=None) -> int:
    """Staff send a session's failed notices again; how many were queued.

    Only `failed` ones, which the mail server refused: an `uncertain` one may
    have arrived and is resent one at a time, by a person who asked. Nor those
    of a change a later one replaced (`superseded`). A second click finds them
    queued or sent, and queues nothing.
    """
    with transaction.atomic():
        # The baseline's lock, as a publish takes it before skipping queued
        # notices: a change published meanwhile either comes first, and its
        # SEQUENCE leaves the old ones out here, or comes after, and skips the
        # ones queued here. The sender checks again in any case.
        list(CalendarState.objects.select_for_update().filter(session_id=session_id))
        notices = list(
            SessionNotice.objects.select_for_update(of=("self",))
            .filter(session_id=session_id, state=NoticeState.FAILED)
            .current()
            # Only the notice rows: a ticket's lock would make a cancel or a
            # move of it wait for the resend.
            .select_related("ticket")
            .order_by("pk")
        )
        if not notices:
            return 0
        SessionNotice.objects.filter(
            pk__in=[notice.pk for notice in notices], state=NoticeState.FAILED
        ).resend()
        for notice in notices:
            log(
                notice.ticket,
                "workshops.notice.resent",
                user=user,
                data={"notice": notice.pk, "was": notice.state, "bulk": True},
            )
        _enqueue_send(session_id)
    return len(notices)


def session_notices_send(
    *,
    session_id: int,
    now: Callable[[], datetime] = timezone.now,
    checkpoint: Callable[[str], None] | None = None,
) -> int:
    """Send a session's queued notices, each at most once; returns how many went.

    Each notice is handed over (`queued → sending`, committed) before its email
    goes and settled after, so a run that dies leaves at most the one notice it
    was sending `uncertain`, and a second run sends only what is still queued.
    `checkpoint` lets tests stop the run between the steps.
    """
    SessionNotice.objects.filter(session_id=session_id).expire(
        before=now() - NOTICE_LEASE
    )
    sent = 0
    while (notice := _hand_over_next(session_id=session_id, now=now())) is not None:
        token = notice.claim_token
        if checkpoint:
            checkpoint("handed_over")
        try:
            message, detail = _notice_message(notice)
        except _Departed as departed:
            SessionNotice.objects.filter(pk=notice.pk).settle(
                token=token, state=NoticeState.SKIPPED, detail=str(departed)
            )
            continue
        except Exception as error:  # never sent: failed, not uncertain
            logger.exception("Could not build notice %s", notice.pk)
            SessionNotice.objects.filter(pk=notice.pk).settle(
                token=token, state=NoticeState.FAILED, detail=f"Not sent: {error}"
            )
            continue
        try:
            message.send()
        except Exception as error:  # any mail error is this row's to record
            failure, retry_at = _settle_send_error(
                notice, token=token, error=error, now=now()
            )
            if retry_at is not None:
                # The server is not taking mail now: the rest of the queue
                # waits for the retry instead of each trying in vain.
                _enqueue_retry(session_id, at=retry_at)
                break
            if failure in (Failure.CONFIG, Failure.UNREADABLE):
                # Our login, sender or account (or a yes we cannot read) would
                # go the same way for every holder: the rest stay queued for
                # the next run (reconcile_notices) once it is put right,
                # instead of each failing in turn. An uncertain send does not
                # stop the run: it is about that message's connection, and
                # if the server has gone, the next one's connect fails
                # provably (a retry) and stops it.
                break
            continue
        if checkpoint:
            checkpoint("sent")
        SessionNotice.objects.filter(pk=notice.pk).settle(
            token=token, state=NoticeState.SENT, detail=detail
        )
        sent += 1
    return sent


def _settle_send_error(
    notice: SessionNotice, *, token: str, error: Exception, now: datetime
) -> tuple[Failure, datetime | None]:
    """Record a send that raised, by what the error says of the message.

    Provably not taken (`Failure.RETRY`): queued again after a wait, up to
    NOTICE_ATTEMPTS; returns when. Perhaps taken (a dropped connection, an
    unreadable yes): uncertain, never resent by itself. Refused: failed.
    Returns what the error meant, and the retry's time if there is one.
    """
    failure = classify(error, [Address(email) for email in notice_recipients(notice)])
    described = f"{type(error).__name__}: {error}"
    rows = SessionNotice.objects.filter(pk=notice.pk)
    if failure is Failure.RETRY and notice.attempts < NOTICE_ATTEMPTS:
        retry_at = now + NOTICE_RETRY_DELAYS[notice.attempts - 1]
        rows.postpone(
            token=token,
            until=retry_at,
            detail=f"Attempt {notice.attempts} of {NOTICE_ATTEMPTS} put off by "
            f"the mail server, trying again at {retry_at:%H:%M} UTC: {described}",
        )
        return failure, retry_at
    if failure in (Failure.UNCERTAIN, Failure.UNREADABLE):
        rows.settle(
            token=token,
            state=NoticeState.UNCERTAIN,
            detail=f"{UNCERTAIN_SEND_DETAIL} {described}",
        )
        return failure, None
    if failure is Failure.RETRY:
        described = f"Gave up after {notice.attempts} attempts: {described}"
    rows.settle(token=token, state=NoticeState.FAILED, detail=described)
    return failure, None


def notice_recipients(notice: SessionNotice) -> list[str]:
    return [notice.email or notice.ticket.attendee_email]


def _hand_over_next(*, session_id: int, now: datetime) -> SessionNotice | None:
    token = secrets.token_hex(16)
    with transaction.atomic():
        pk = (
            SessionNotice.objects.filter(session_id=session_id)
            .due(now=now)
            # Those never tried first: a row put off for one address's sake
            # holds nobody else up.
            .order_by(F("retry_at").asc(nulls_first=True), "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            return None
        SessionNotice.objects.filter(pk=pk).hand_over(token=token, now=now)
    return SessionNotice.objects.select_related(
        "ticket__order", "session__workshop", "change"
    ).get(pk=pk, claim_token=token)


class _Departed(Exception):
    """The notice no longer has anyone to go to."""


def notice_recipient(notice: SessionNotice) -> tuple[str, str]:
    """(name, email) the notice is for, decided when it is sent; or `_Departed`.

    Decided from what holds now, not from when it was queued: a retry or a
    staff resend may come after later changes, moves and hand-overs.
    """
    ticket, session = notice.ticket, notice.session
    if notice.reason in WITHDRAWALS:
        # Told whatever the ticket is now: it is the record of what happened.
        return notice.name, notice.email
    if notice.reason == NoticeReason.MOVED_OUT:
        # The entry to withdraw is the one the holder at the move had,
        # whatever became of the ticket since.
        name = notice.name if notice.email else ticket.attendee_name
        email = notice.email or ticket.attendee_email
        if holds_session(email, session.pk):
            # Moved back, or another seat of theirs: the entry must stay.
            raise _Departed(STILL_HOLDS_DETAIL)
        return name, email
    if ticket.status != TicketStatus.VALID:
        raise _Departed(LEFT_DETAIL)
    if ticket.session_id != session.pk:
        # A REQUEST for a session the ticket has left would put it (and its
        # joining link) in the calendar of someone with no seat there.
        raise _Departed(
            MOVED_ON_DETAIL if notice.reason == NoticeReason.MOVED_IN else LEFT_DETAIL
        )
    if (
        notice.reason == NoticeReason.CHANGE
        and CalendarState.objects.filter(
            session_id=session.pk, sequence__gt=notice.change.sequence
        ).exists()
    ):
        # Read at send time, so a change published after a resend queued it
        # still wins: the later change's own notice says what holds.
        raise _Departed(SUPERSEDED_DETAIL)
    return ticket.attendee_name, ticket.attendee_email


def _notice_message(notice: SessionNotice):
    """The email for a notice, and what to note on it once sent."""
    session = notice.session
    name, email = notice_recipient(notice)
    SessionNotice.objects.filter(pk=notice.pk).update(email=email, name=name)
    notice.email, notice.name = email, name
    site = default_site()
    organizer = organizer_address(site)
    # Their entry (one per address and UID) stays while they hold a seat there.
    keeps_entry = notice.reason in WITHDRAWALS and holds_session(email, session.pk)
    invite = None
    if not keeps_entry:
        invite = ticket_calendar_invite(
            notice.ticket,
            session=session,
            method=notice.method,
            organizer=organizer,
            attendee=(name, email),
        )
    if notice.reason in WITHDRAWALS:
        template, context = WITHDRAWALS[notice.reason], withdrawal_context(notice)
    else:
        template = (
            "workshops/emails/session_cancelled"
            if notice.method == "CANCEL"
            else "workshops/emails/session_changed"
        )
        context = notice_context(notice)
    message = render_templated_email(
        template=template,
        to=[email],
        context=context,
        reply_to=[organizer[1]],
        from_email=sender_for(organizer),
        invite=invite,
        site=site,
    )
    return message, KEPT_ENTRY_DETAIL if keeps_entry else ""


def withdrawal_context(notice: SessionNotice) -> dict[str, Any]:
    """What a cancelled or handed-on seat's email shows."""
    ticket = notice.ticket
    return {
        "ticket": ticket,
        "order": ticket.order,
        "session": notice.session,
        "refunded": ticket.refunded_amount,
        "previous": {"name": notice.name, "email": notice.email},
    }


def notice_context(notice: SessionNotice) -> dict[str, Any]:
    """What a notice's templates show: times in the holder's and the session's zone."""
    ticket, session, change = notice.ticket, notice.session, notice.change
    zone = ticket.order.buyer_time_zone or session.time_zone
    old = snapshot_session(session, change.before) if change else None

    def when(described: WorkshopSession | None) -> dict[str, str] | None:
        if described is None:
            return None
        return {
            "yours": session_when(described, zone),
            "session": session_when(described),
        }

    return {
        "ticket": ticket,
        "session": session,
        "notice": notice,
        "recipient_name": notice.name or ticket.attendee_name,
        "change": change,
        "holder_zone": zone,
        "same_zone": zone == session.time_zone,
        "old": when(old),
        "new": when(session),
        "message": change.message if change else "",
        "ticket_url": ticket_url(ticket),
        # A move's CANCEL may go to someone who no longer holds the ticket
        # (handed on, cancelled): they get no link to its private page.
        "holds_ticket": ticket.status == TicketStatus.VALID
        and ticket.attendee_email.lower() == (notice.email or "").lower(),
        # A move is offered only where the ticket page can make one.
        "other_dates": bool(ticket_other_dates(ticket=ticket)),
    }


def notices_reconcile() -> int:
    """Send what a lost task left queued or a retry made due, and settle dead
    senders' rows; how many went."""
    session_ids = (
        SessionNotice.objects.filter(
            state__in=(NoticeState.QUEUED, NoticeState.SENDING)
        )
        .values_list("session_id", flat=True)
        .distinct()
    )
    return sum(
        session_notices_send(session_id=session_id) for session_id in list(session_ids)
    )
