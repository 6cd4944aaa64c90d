"""What was sent: one send per issue and list, one ledger row per recipient.

The ledger is the guarantee: a person has at most one row per issue that has
reached or may reach the provider, and only a committed `sending` row is ever
handed to the provider. Every move of a row is one method of `DeliveryQuerySet`,
below; docs/sending.md draws them.
"""

from django.conf import settings
from django.db import connection, models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from .issues import NewsletterIssuePage
from .subscriptions import (
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
)


class SendStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    FINISHED = "finished", "Finished"


ACTIVE_SEND_STATUSES = (SendStatus.SCHEDULED, SendStatus.SENDING, SendStatus.PAUSED)


class SendMode(models.TextChoices):
    BATCH = "batch", "Batch (provider merge fields)"
    SINGLE = "single", "One message per recipient"


class SendKind(models.TextChoices):
    ISSUE = "issue", "Newsletter issue"
    DATES = "dates", "New workshop dates"


class IssueSend(models.Model):
    """One issue sent to one list: when, by whom, and the email exactly as sent.

    Or an announcement of new workshop dates (`kind`), which has no issue page
    and whose recipients each get the dates within their hours
    (newsletter/services/announcements.py): the same ledger carries both.
    """

    issue = models.ForeignKey(
        NewsletterIssuePage,
        null=True,
        on_delete=models.SET_NULL,
        related_name="sends",
    )
    # Kept beside the keys, so the record reads right after a page or list goes.
    issue_title = models.CharField(max_length=255)
    mailing_list = models.ForeignKey(
        MailingList, null=True, on_delete=models.SET_NULL, related_name="sends"
    )
    list_name = models.CharField(max_length=100)
    kind = models.CharField(
        max_length=10, choices=SendKind.choices, default=SendKind.ISSUE
    )
    status = models.CharField(
        max_length=20, choices=SendStatus.choices, default=SendStatus.SCHEDULED
    )
    scheduled_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Fixed when the send starts, so a change of settings mid-send changes nothing.
    mode = models.CharField(max_length=10, choices=SendMode.choices, blank=True)
    email_backend = models.CharField(max_length=200, blank=True)
    batch_size = models.PositiveIntegerField(default=0)
    # The email as sent: placeholders for the per-recipient parts, in the
    # provider's merge syntax (batch) or our own (single).
    revision = models.ForeignKey(
        "wagtailcore.Revision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    subject = models.CharField(max_length=255, blank=True)
    html = models.TextField(blank=True)
    text = models.TextField(blank=True)

    pause_reason = models.CharField(max_length=255, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Seconds since the epoch before which no further batch may start: the
    # shared clock of NEWSLETTER_MAX_PER_SECOND across workers.
    throttle_until = models.FloatField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "issue send"
        constraints = [
            models.UniqueConstraint(
                fields=["issue"],
                condition=models.Q(status__in=ACTIVE_SEND_STATUSES),
                name="newsletter_one_active_send_per_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issue_title} to {self.list_name}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_SEND_STATUSES


class DeliveryState(models.TextChoices):
    QUEUED = "queued", "Queued"
    CLAIMED = "claimed", "Claimed by a worker"
    SENDING = "sending", "Handed to the provider"
    SENT = "sent", "Accepted by the provider"
    FAILED = "failed", "Failed"
    UNCERTAIN = "uncertain", "Uncertain"
    SKIPPED = "skipped", "Skipped"


# What a row of a cancelled send says, however far it got.
CANCELLED_DETAIL = "The send was cancelled."
IN_FLIGHT_STATES = (DeliveryState.CLAIMED, DeliveryState.SENDING)
OPEN_STATES = (DeliveryState.QUEUED, *IN_FLIGHT_STATES)
# Rows that stand for a copy the person has, may have, or is about to get:
# the only ones that keep another send of the issue from reaching them. A
# skipped row, or one the provider refused, never reached anyone.
HOLDS_A_COPY = Q(
    state__in=(
        *OPEN_STATES,
        DeliveryState.SENT,
        DeliveryState.UNCERTAIN,
    )
) | Q(may_have_reached=True)


DEPARTED_DETAIL = "Unsubscribed, suppressed or erased before their batch."
STALE_DETAIL = (
    "The worker stopped during the provider call: it may have been sent. "
    "Not resent automatically."
)
RESENT_DETAIL = "Queued again by staff after an uncertain attempt."
GIVEN_UP_DETAIL = "Uncertain; staff chose not to send again."
UNCLAIMED = {"claim_token": "", "claimed_at": None}


class DeliveryQuerySet(models.QuerySet):
    """The ledger's transitions, one method each; each returns the rows it moved.

    Each is a single UPDATE that names the state it moves rows from, so two
    workers, a pause and a provider's webhook can race without a row moving
    twice or backwards.
    """

    def queue_recipients(self, send: "IssueSend") -> int:
        """Start a send: one `queued` row per person the list may mail now.

        INSERT ... SELECT keeps a 100,000-person list out of the worker's memory;
        ON CONFLICT skips anyone this issue already reached, or may have reached,
        through another send. The unique index covers only such rows
        (`HOLDS_A_COPY`), so someone skipped or refused by an earlier send of the
        issue gets a fresh row here, and the old one stays as that send's record.
        """
        quoted = {
            name: connection.ops.quote_name(model._meta.db_table)
            for name, model in (
                ("delivery", Delivery),
                ("subscription", Subscription),
                ("subscriber", Subscriber),
                ("suppression", Suppression),
            )
        }
        # Only quoted table names from the models are interpolated; values are bound.
        sql = (
            f"INSERT INTO {quoted['delivery']} (send_id, issue_id, subscriber_id) "  # noqa: S608
            f"SELECT %s, %s, sub.subscriber_id FROM {quoted['subscription']} sub "
            f"JOIN {quoted['subscriber']} person ON person.id = sub.subscriber_id "
            "WHERE sub.mailing_list_id = %s AND sub.status = %s "
            f"AND NOT EXISTS (SELECT 1 FROM {quoted['suppression']} x "
            "WHERE x.email_hash = person.email_hash) "
            "ORDER BY sub.subscriber_id "
            "ON CONFLICT DO NOTHING"
        )
        params = [
            send.pk,
            send.issue_id,
            send.mailing_list_id,
            SubscriptionStatus.CONFIRMED,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def queue_subscribers(self, send: "IssueSend", subscriber_ids: list[int]) -> int:
        """`queue_recipients` for the chosen few: an announcement of new dates
        goes only to people some of its dates suit. The same checks: confirmed
        on the send's list now, and not suppressed."""
        if not subscriber_ids:
            return 0
        eligible = (
            Subscription.objects.filter(
                mailing_list_id=send.mailing_list_id,
                status=SubscriptionStatus.CONFIRMED,
                subscriber_id__in=subscriber_ids,
            )
            .exclude(
                Exists(
                    Suppression.objects.filter(
                        email_hash=OuterRef("subscriber__email_hash")
                    )
                )
            )
            .order_by("subscriber_id")
            .values_list("subscriber_id", flat=True)
        )
        rows = [
            Delivery(send=send, issue_id=send.issue_id, subscriber_id=subscriber_id)
            for subscriber_id in eligible
        ]
        return len(self.bulk_create(rows, ignore_conflicts=True))

    def claim(self, *, token: str) -> int:
        """`queued → claimed` under a worker's token; the lease starts now."""
        return self.filter(state=DeliveryState.QUEUED).update(
            state=DeliveryState.CLAIMED, claim_token=token, claimed_at=timezone.now()
        )

    def departed(self, send: "IssueSend") -> "DeliveryQuerySet":
        """Rows whose person may no longer be mailed: left the list, suppressed,
        erased."""
        return self.filter(
            Q(subscriber__isnull=True)
            | ~Exists(subscribed_to(send))
            | Exists(suppressed())
        )

    def skip_departed(self) -> int:
        """`claimed → skipped` for people who left since the send started."""
        return self.filter(state=DeliveryState.CLAIMED).update(
            state=DeliveryState.SKIPPED, detail=DEPARTED_DETAIL
        )

    def hand_over(self, send: "IssueSend") -> int:
        """`claimed → sending`, only while the send is still sending.

        One statement, so a pause or a cancel that committed first stops rows a
        worker had already claimed. The lease starts again at the hand-over: a
        slow batch is not taken for a dead one.
        """
        still_sending = IssueSend.objects.filter(pk=send.pk, status=SendStatus.SENDING)
        return self.filter(Exists(still_sending), state=DeliveryState.CLAIMED).update(
            state=DeliveryState.SENDING, claimed_at=timezone.now()
        )

    def renew(self) -> int:
        """Renew the lease of rows still `sending`, before another call of a batch."""
        return self.filter(state=DeliveryState.SENDING).update(
            claimed_at=timezone.now()
        )

    def release(self) -> int:
        """`claimed → queued`: rows never handed to the provider go back."""
        return self.filter(state=DeliveryState.CLAIMED).update(
            state=DeliveryState.QUEUED, **UNCLAIMED
        )

    def requeue(self, *, detail: str, attempted: bool) -> int:
        """`sending → queued`: the provider provably took nothing.

        Never `failed` for that: a long outage pauses the send (the error count)
        rather than lose people. Only rows still `sending` go back: one another
        worker has since marked uncertain waits for staff, and a send that was
        cancelled meanwhile skips them, as it skipped the rest of its queue.
        """
        rows = self.filter(state=DeliveryState.SENDING)
        changes = dict(UNCLAIMED)
        if attempted:
            changes.update(attempts=F("attempts") + 1, detail=detail)
        cancelled = rows.filter(send__status=SendStatus.CANCELLED).update(
            state=DeliveryState.SKIPPED, **{**changes, "detail": CANCELLED_DETAIL}
        )
        return cancelled + rows.update(state=DeliveryState.QUEUED, **changes)

    def settle(
        self, *, state: str, message_id: str, esp_status: str, detail: str
    ) -> int:
        """`sending | uncertain → sent | failed | uncertain`, as the provider said."""
        return self._settleable().update(
            state=state,
            esp_message_id=message_id,
            esp_status=esp_status,
            detail=detail,
            sent_at=timezone.now() if state == DeliveryState.SENT else None,
        )

    def settle_each(
        self,
        *,
        token: str,
        message_ids: list[tuple[int, str]],
        state: str,
        esp_status: str,
        detail: str,
    ) -> None:
        """`settle` for rows that each get their own message id, in one statement.

        An UPDATE ... FROM (VALUES ...): the ORM's Case/When costs more Python
        per row than the provider call it records (single mode: one message id
        per recipient).
        """
        table = connection.ops.quote_name(Delivery._meta.db_table)
        values = ", ".join(["(%s, %s)"] * len(message_ids))
        params: list = []
        for delivery_id, message_id in message_ids:
            params.extend([delivery_id, message_id])
        sent_at = timezone.now() if state == DeliveryState.SENT else None
        params.extend([state, esp_status, detail, sent_at])
        params.extend([token, DeliveryState.SENDING, DeliveryState.UNCERTAIN])
        # Only the quoted table name is interpolated; every value is bound.
        sql = (
            f"WITH batch (delivery_id, message_id) AS (VALUES {values}) "  # noqa: S608
            f"UPDATE {table} SET state = %s, esp_status = %s, detail = %s, "
            "sent_at = %s, esp_message_id = batch.message_id FROM batch "
            f"WHERE {table}.id = batch.delivery_id AND {table}.claim_token = %s "
            f"AND {table}.state IN (%s, %s)"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    def expire(self, *, before) -> int:
        """Settle rows whose worker has been silent since `before`.

        Claimed but never handed over: `claimed → queued`, safe to send. With the
        provider: `sending → uncertain`, never resent without a person deciding.
        """
        stale = self.filter(claimed_at__lt=before)
        released = stale.release()
        return released + stale.filter(state=DeliveryState.SENDING).update(
            state=DeliveryState.UNCERTAIN, detail=STALE_DETAIL
        )

    def cancel(self) -> int:
        """`queued | claimed → skipped`: a cancelled send reaches nobody else.

        That includes rows a worker has claimed but not handed over: its move to
        `sending` needs them still claimed, so they are never sent.
        """
        return self.filter(
            state__in=[DeliveryState.QUEUED, DeliveryState.CLAIMED]
        ).update(state=DeliveryState.SKIPPED, detail=CANCELLED_DETAIL, **UNCLAIMED)

    def resend_uncertain(self) -> int:
        """`uncertain → queued`, on staff's word; the person may get two copies."""
        return self.filter(state=DeliveryState.UNCERTAIN).update(
            state=DeliveryState.QUEUED,
            may_have_reached=True,
            detail=RESENT_DETAIL,
            **UNCLAIMED,
        )

    def give_up_uncertain(self) -> int:
        """`uncertain → failed`, on staff's word; the row still blocks a resend."""
        return self.filter(state=DeliveryState.UNCERTAIN).update(
            state=DeliveryState.FAILED, may_have_reached=True, detail=GIVEN_UP_DETAIL
        )

    def confirm_sent(self, *, message_id: str, detail: str) -> int:
        """`uncertain | queued | claimed → sent`: the provider reported on it.

        A row queued or claimed again after an uncertain attempt (staff chose to
        resend) is not sent a second time; a claimed row's worker then finds
        nothing to hand over.
        """
        return self.filter(
            state__in=[
                DeliveryState.UNCERTAIN,
                DeliveryState.QUEUED,
                DeliveryState.CLAIMED,
            ]
        ).update(
            state=DeliveryState.SENT,
            claim_token="",
            esp_message_id=message_id,
            detail=detail,
        )

    def _settleable(self) -> "DeliveryQuerySet":
        return self.filter(state__in=[DeliveryState.SENDING, DeliveryState.UNCERTAIN])


def subscribed_to(send: "IssueSend"):
    """Whether a delivery's person is still a confirmed subscriber of the list."""
    return Subscription.objects.filter(
        subscriber_id=OuterRef("subscriber_id"),
        mailing_list_id=send.mailing_list_id,
        status=SubscriptionStatus.CONFIRMED,
    )


def suppressed():
    """Whether a delivery's address is suppressed."""
    return Suppression.objects.filter(email_hash=OuterRef("subscriber__email_hash"))


class Delivery(models.Model):
    """One recipient of one issue: the ledger row that makes sending exactly-once."""

    send = models.ForeignKey(
        IssueSend, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Denormalised from the send so that the database itself refuses a second
    # row for the same person and issue, whichever list the send went to.
    issue = models.ForeignKey(
        NewsletterIssuePage,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Erasing a person keeps the row (and the figures) but not who it was.
    subscriber = models.ForeignKey(
        Subscriber, null=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    state = models.CharField(
        max_length=12,
        choices=DeliveryState.choices,
        default=DeliveryState.QUEUED,
        db_default=DeliveryState.QUEUED,
    )
    claim_token = models.CharField(max_length=32, default="", db_default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, db_default=0)
    # Set once a row was uncertain and staff decided: whatever becomes of it
    # later (refused on the resend, dropped), the person may have the issue.
    may_have_reached = models.BooleanField(default=False, db_default=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    esp_message_id = models.CharField(max_length=255, default="", db_default="")
    esp_status = models.CharField(max_length=20, default="", db_default="")
    detail = models.CharField(max_length=255, default="", db_default="")
    # From the provider's tracking events, keyed by the delivery id the message
    # carried in its metadata.
    delivered_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "subscriber"],
                condition=HOLDS_A_COPY,
                name="newsletter_one_copy_per_issue",
            ),
        ]
        indexes = [
            models.Index(fields=["send", "state", "attempts", "id"]),
            models.Index(fields=["claim_token"]),
            models.Index(fields=["esp_message_id"]),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.state})"
