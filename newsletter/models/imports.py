"""A CSV import as it runs in the background, a chunk of rows at a time."""

from datetime import timedelta

from django.conf import settings
from django.db import models

from .subscriptions import MailingList


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Importing"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Stopped on an error"


class SubscriberImport(models.Model):
    """One uploaded file: its rows until they are written, then only the counts.

    Each chunk of rows commits with the count of rows done, so a worker that
    dies mid-file is followed by one that carries on where it stopped.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    file_name = models.CharField(max_length=255, blank=True)
    mailing_lists = models.ManyToManyField(MailingList, related_name="+")
    consent_source = models.CharField(max_length=255)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    # The file's rows as [email, name] pairs; emptied once they are written,
    # so the addresses live only in the subscriber records.
    rows = models.JSONField(default=list, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    # Distinct valid addresses in the file, and how many of them are written.
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Moves with every chunk: an import that sits still past the claim lease
    # has lost its worker, and staff may resume it.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.get_status_display()})"

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def skipped_reasons(self) -> list[tuple[str, int]]:
        return sorted(self.skipped.items(), key=lambda item: -item[1])

    def is_stalled(self, *, now) -> bool:
        """Whether an unfinished import has lost its worker (or stopped on an error)."""
        if self.status == ImportStatus.FAILED:
            return bool(self.rows)
        lease = timedelta(seconds=settings.NEWSLETTER_CLAIM_LEASE)
        return self.status != ImportStatus.FINISHED and self.updated_at < now - lease

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.FINISHED:
            return 100
        return int(100 * self.done / self.total) if self.total else 0
