"""Announcements of new workshop dates to the "Workshop dates" list."""

from django.conf import settings
from django.db import models

from .sending import IssueSend


class SessionAnnouncement(models.Model):
    """A session told to the list, once: the row exists, so it is never told again."""

    session = models.OneToOneField(
        "workshops.WorkshopSession",
        on_delete=models.CASCADE,
        related_name="announcement",
    )
    send = models.ForeignKey(
        IssueSend,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="announced_sessions",
    )
    # How many subscribers it suited when the editor confirmed.
    recipients = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.session} (announced)"
