"""What was sent: one send per issue and list, one ledger row per recipient.

The ledger is the guarantee. A person has at most one row per issue that has
reached or may reach the provider; it moves `queued → claimed → sending → sent |
failed | uncertain`, or to `skipped`, and only a committed `sending` row is ever
handed to the provider. See docs/conventions.md, "Sending an issue".
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .issues import NewsletterIssuePage
from .subscriptions import MailingList, Subscriber


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


class IssueSend(models.Model):
    """One issue sent to one list: when, by whom, and the email exactly as sent."""

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
