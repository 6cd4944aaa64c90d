"""Date-change notices: what ticket holders were last told, each change, each email.

The notice log is a ledger like the newsletter's: one row per (change, ticket),
moved between states by single UPDATEs that name the state they move from, so a
task that is killed, retried or run twice never mails anyone twice. See
docs/notices.md.
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from .pages import WorkshopSession
from .tickets import Ticket


class CalendarState(models.Model):
    """What a session's ticket holders' calendars say: the baseline for a change.

    Kept apart from the session row on purpose: page revisions store every field
    of a session, and publishing an older draft would write its stale copy back.
    """

    session = models.OneToOneField(
        WorkshopSession, on_delete=models.CASCADE, related_name="calendar_state"
    )
    sequence = models.PositiveIntegerField(default=0)
    # session_snapshot(): the local date, times, zone and calendar status.
    snapshot = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.session} (SEQUENCE {self.sequence})"


class ChangeKind(models.TextChoices):
    RESCHEDULED = "rescheduled", "Date or time changed"
    CANCELLED = "cancelled", "Cancelled"
    REINSTATED = "reinstated", "Reinstated after a cancellation"


class SessionChange(models.Model):
    """One material change of a published session: the SEQUENCE it raised to."""

    session = models.ForeignKey(
        WorkshopSession, on_delete=models.CASCADE, related_name="changes"
    )
    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=ChangeKind.choices)
    before = models.JSONField()
    after = models.JSONField()
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "sequence"], name="workshops_one_change_per_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.session}: {self.get_kind_display()} (SEQUENCE {self.sequence})"


class NoticeState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Handed to the mail server"
    SENT = "sent", "Delivered to the mail server"
    FAILED = "failed", "Failed"
    UNCERTAIN = "uncertain", "Uncertain (the sender stopped mid-send)"
    SKIPPED = "skipped", "Skipped"


class NoticeReason(models.TextChoices):
    CHANGE = "change", "The session changed"
    MOVED_OUT = "moved_out", "Moved to another session (old one withdrawn)"
    MOVED_IN = "moved_in", "Moved here from another session"
    # The holder's seat ended here: their email, with a CANCEL of their entry.
    TICKET_CANCELLED = "ticket_cancelled", "Ticket cancelled (entry withdrawn)"
    HANDED_ON = "handed_on", "Handed on to someone else (entry withdrawn)"


SUPERSEDED_DETAIL = "A later change of the session replaced it before it was sent."
STALE_DETAIL = (
    "The sender stopped while handing it to the mail server: it may have arrived. "
    "Not resent automatically; resend it if the holder says it did not."
)
UNCERTAIN_SEND_DETAIL = (
    "The mail server may have taken it before the error. Not resent "
    "automatically; resend it if the holder says it did not arrive."
)
LEFT_DETAIL = "The ticket is no longer valid."
MOVED_ON_DETAIL = "The ticket has moved on to another session since."
KEPT_ENTRY_DETAIL = (
    "Sent without its calendar part: that address holds a seat in the session."
)
STILL_HOLDS_DETAIL = "That address holds a seat in this session again."


RESENT_DETAIL = "Resent by staff."


class SessionNoticeQuerySet(models.QuerySet):
    """The notice ledger's moves, one method each; each returns the rows it moved."""

    def due(self, *, now: datetime) -> "SessionNoticeQuerySet":
        """Queued rows a sender may take now: not put off until later."""
        return self.filter(state=NoticeState.QUEUED).filter(
            models.Q(retry_at__isnull=True) | models.Q(retry_at__lte=now)
        )

    def hand_over(self, *, token: str, now: datetime) -> int:
        """`queued → sending` under a sender's token, committed before the email."""
        return self.due(now=now).update(
            state=NoticeState.SENDING,
            claim_token=token,
            claimed_at=now,
            retry_at=None,
            attempts=models.F("attempts") + 1,
        )

    def settle(self, *, token: str, state: str, detail: str = "") -> int:
        """`sending → sent | failed | uncertain` for rows this sender still holds."""
        return self.filter(state=NoticeState.SENDING, claim_token=token).update(
            state=state,
            detail=detail[:255],
            sent_at=timezone.now() if state == NoticeState.SENT else None,
        )

    def postpone(self, *, token: str, until: datetime, detail: str) -> int:
        """`sending → queued` until `until`: the mail server provably took nothing."""
        return self.filter(state=NoticeState.SENDING, claim_token=token).update(
            state=NoticeState.QUEUED,
            claim_token="",
            retry_at=until,
            detail=detail[:255],
        )

    def skip(self, *, detail: str) -> int:
        """`queued → skipped`: superseded, or the ticket is gone."""
        return self.filter(state=NoticeState.QUEUED).update(
            state=NoticeState.SKIPPED, detail=detail
        )

    def expire(self, *, before: datetime) -> int:
        """`sending → uncertain` for senders silent since `before` (killed)."""
        return self.filter(state=NoticeState.SENDING, claimed_at__lt=before).update(
            state=NoticeState.UNCERTAIN, detail=STALE_DETAIL
        )

    def superseded(self) -> "SessionNoticeQuerySet":
        """Change notices a later change of their session has replaced.

        The baseline's SEQUENCE is above their change's: what they say no
        longer holds, and built now they would carry the new SEQUENCE with the
        old method (an old CANCEL would remove a reinstated session).
        """
        return self.filter(
            reason=NoticeReason.CHANGE,
            change__sequence__lt=models.F("session__calendar_state__sequence"),
        )

    def current(self) -> "SessionNoticeQuerySet":
        """All but the superseded: what may still be sent."""
        return self.exclude(pk__in=self.superseded().values("pk"))

    def resend(self) -> int:
        """Staff ask for another copy: any settled row goes back to the queue.

        With a fresh count of attempts, so the automatic retries of a passing
        outage apply to it again.
        """
        return self.exclude(state__in=(NoticeState.QUEUED, NoticeState.SENDING)).update(
            state=NoticeState.QUEUED,
            claim_token="",
            retry_at=None,
            attempts=0,
            detail=RESENT_DETAIL,
        )


class SessionNotice(models.Model):
    """One email to one ticket holder about one change, with what became of it."""

    session = models.ForeignKey(
        WorkshopSession, on_delete=models.CASCADE, related_name="notices"
    )
    change = models.ForeignKey(
        SessionChange,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notices",
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, choices=NoticeReason.choices)
    # REQUEST or CANCEL: the iTIP method of its calendar part.
    method = models.CharField(max_length=10)
    # Who it goes to. A move's CANCEL records the holder when it is queued: the
    # entry to withdraw is theirs, whoever holds the ticket by the time it goes.
    # Other notices record the ticket's holder when they are sent.
    email = models.EmailField(blank=True)
    name = models.CharField(max_length=200, blank=True)
    # What makes a move's pair of notices unique (changes use the constraint).
    key = models.CharField(max_length=120, unique=True)
    state = models.CharField(
        max_length=20, choices=NoticeState.choices, default=NoticeState.QUEUED
    )
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Hand-overs since it was queued (by a change or by staff): the retries of
    # a mail server's passing refusal stop at NOTICE_ATTEMPTS.
    attempts = models.PositiveSmallIntegerField(default=0)
    # A queued notice the mail server put off waits until then.
    retry_at = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = SessionNoticeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "pk"]
        indexes = [models.Index(fields=["session", "state"])]
        constraints = [
            models.UniqueConstraint(
                fields=["change", "ticket"], name="workshops_one_notice_per_ticket"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.email or self.ticket_id}"
