"""Professional-development certificates for attendees of a completed session."""

import re
import secrets
from datetime import date, datetime

from django.db import models
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting

from .tickets import Ticket

# Letters and digits nobody confuses when reading a printed code aloud: no 0/O,
# 1/I/L. 31 symbols, 20 of them: log2(31) * 20 ≈ 99 bits, past guessing.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_GROUPS = 5
CODE_GROUP_LENGTH = 4
_CODE_LENGTH = CODE_GROUPS * CODE_GROUP_LENGTH
_NOT_CODE = re.compile(r"[\s\-–—_.]+")


def format_code(symbols: str) -> str:
    """'ABCDEFGH…' as 'ABCD-EFGH-…', the form printed and stored."""
    return "-".join(
        symbols[start : start + CODE_GROUP_LENGTH]
        for start in range(0, len(symbols), CODE_GROUP_LENGTH)
    )


def new_certificate_code() -> str:
    return format_code(
        "".join(secrets.choice(CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    )


def normalise_code(typed: str) -> str | None:
    """A code as typed (any case, spaces or dashes) in its stored form, or None."""
    symbols = _NOT_CODE.sub("", typed or "").upper()
    if len(symbols) != _CODE_LENGTH or any(c not in CODE_ALPHABET for c in symbols):
        return None
    return format_code(symbols)


class CertificateStatus(models.TextChoices):
    REQUESTED = "requested", "Requested (awaiting approval)"
    ISSUED = "issued", "Issued"
    REVOKED = "revoked", "Revoked"


class Certificate(models.Model):
    """One attendee's certificate for one ticket: requested, issued, maybe revoked.

    What it says (name, workshop, date, hours) is copied when it is issued, so
    the PDF and the verification page keep saying what was certified.
    """

    ticket = models.OneToOneField(
        Ticket, on_delete=models.PROTECT, related_name="certificate"
    )
    code = models.CharField(max_length=32, unique=True, default=new_certificate_code)
    status = models.CharField(
        max_length=20,
        choices=CertificateStatus.choices,
        default=CertificateStatus.REQUESTED,
    )
    attendee_name = models.CharField(max_length=200, blank=True)
    workshop_title = models.CharField(max_length=255, blank=True)
    session_date = models.DateField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"Certificate {self.code}"

    @property
    def hours(self) -> str:
        """The session's length in hours as printed: '3.5', '2'."""
        return f"{(self.duration_minutes or 0) / 60:.2f}".rstrip("0").rstrip(".")

    # Each change of status, named once. The services check that it may happen,
    # under the certificate's row lock, and log it.

    def issue(
        self,
        *,
        attendee_name: str,
        workshop_title: str,
        session_date: date,
        duration_minutes: int,
        now: datetime,
    ) -> None:
        """Approved: what it certifies is fixed, and the attendee may have it."""
        self.status = CertificateStatus.ISSUED
        self.attendee_name = attendee_name
        self.workshop_title = workshop_title
        self.session_date = session_date
        self.duration_minutes = duration_minutes
        self.issued_at = now
        self.save()

    def mark_emailed(self, *, now: datetime) -> None:
        """Its PDF is on its way to the attendee."""
        self.emailed_at = now
        self.save(update_fields=["emailed_at"])

    def revoke(self, *, reason: str, now: datetime) -> None:
        """Withdrawn: the verification page says so from now on."""
        self.status = CertificateStatus.REVOKED
        self.revoked_reason = reason
        self.revoked_at = now
        self.save()


@register_setting(icon="doc-full")
class CertificateSettings(BaseSiteSetting):
    """How certificates are approved and what they say."""

    approve_automatically = models.BooleanField(
        default=False,
        help_text="Issue a certificate as soon as an attendee of a completed "
        "session asks for one. Untick to approve each request under Sales → "
        "Certificates.",
    )
    heading = models.CharField(
        max_length=100,
        default="Certificate of completion",
        help_text="The title printed at the top of each certificate.",
    )
    wording = models.CharField(
        max_length=300,
        default="has completed the live professional-development workshop",
        help_text="Printed between the attendee's name and the workshop's title.",
    )
    signatory_name = models.CharField(
        max_length=120,
        blank=True,
        help_text="The person who signs the certificates, printed above the line.",
    )
    signatory_title = models.CharField(
        max_length=120,
        blank=True,
        help_text="Their role, printed under their name, e.g. 'Lead trainer'.",
    )

    panels = [
        FieldPanel("approve_automatically"),
        MultiFieldPanel(
            [
                FieldPanel("heading"),
                FieldPanel("wording"),
                FieldPanel("signatory_name"),
                FieldPanel("signatory_title"),
            ],
            heading="What a certificate says",
        ),
    ]

    class Meta:
        verbose_name = "certificate settings"
