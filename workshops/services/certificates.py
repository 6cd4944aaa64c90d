"""Certificates: requested by an attendee or issued by staff, emailed, revoked."""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import Site

from home.email import Attachment, send_templated_email
from home.models import SiteSettings
from home.tasks import enqueue_on_commit

from .. import tasks
from ..certificate_pdf import CertificateContent, certificate_pdf
from ..formatting import day_label
from ..models import (
    Certificate,
    CertificateSettings,
    CertificateStatus,
    Ticket,
    TicketStatus,
    WorkshopSession,
)
from .emails import absolute, ticket_url
from .tickets import TicketError

logger = logging.getLogger(__name__)
LOGO_RENDITION = "height-160|format-png"


class CertificateError(TicketError):
    """A reason to refuse a certificate, worded for the attendee or staff."""


def certificate_url(certificate: Certificate) -> str:
    """The full address of a certificate's public verification page."""
    return absolute(reverse("workshops:certificate", args=[certificate.code]))


def certificate_refusal(ticket: Ticket, *, now: datetime) -> str | None:
    """Why this ticket cannot have a certificate (yet), or None if it can."""
    session = ticket.session
    if ticket.status != TicketStatus.VALID:
        return (
            f"This ticket is {ticket.get_status_display().lower()}, so it has "
            "no certificate."
        )
    if session.is_cancelled:
        return "This session was cancelled, so it has no certificates."
    if not session.has_ended(now=now):
        return (
            "Certificates are for completed sessions: ask again once this one "
            "has ended."
        )
    if ticket.attended is None:
        return (
            "Attendance for this session is not recorded yet: ask again once "
            "our team has marked it, usually within a few days."
        )
    if not ticket.attended:
        return (
            "Our attendance record does not show this attendee at the session, "
            "so it has no certificate. If that is wrong, reply to your ticket "
            "email and we will correct it."
        )
    return None


def certificate_request(*, ticket_id: int, user=None) -> Certificate:
    """The attendee asks for their certificate; asking again returns the same one."""
    with transaction.atomic():
        ticket = _lock_ticket(ticket_id)
        certificate = Certificate.objects.filter(ticket=ticket).first()
        if certificate is None:
            refusal = certificate_refusal(ticket, now=timezone.now())
            if refusal:
                raise CertificateError(refusal)
            certificate = _certificate_create(ticket, user=user)
            if CertificateSettings.for_site(_site()).approve_automatically:
                _issue(certificate, ticket, user=None)
        elif certificate.status == CertificateStatus.REVOKED:
            raise CertificateError(
                "This ticket's certificate was revoked. Reply to your ticket "
                "email if you think that is a mistake."
            )
    return certificate


def certificate_approve(*, certificate_id: int, user=None) -> Certificate:
    """Staff approve a request: the certificate is issued and emailed."""
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate_id)
        if certificate.status == CertificateStatus.ISSUED:
            return certificate
        if certificate.status == CertificateStatus.REVOKED:
            raise CertificateError("A revoked certificate cannot be approved.")
        ticket = _lock_ticket(certificate.ticket_id)
        refusal = certificate_refusal(ticket, now=timezone.now())
        if refusal:
            raise CertificateError(refusal)
        _issue(certificate, ticket, user=user)
    return certificate


def certificate_revoke(*, certificate_id: int, reason: str, user=None) -> Certificate:
    """Withdraw a certificate (or refuse a request); verifying it then says so."""
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate_id)
        if certificate.status == CertificateStatus.REVOKED:
            return certificate
        certificate.revoke(reason=reason, now=timezone.now())
        log(
            certificate,
            "workshops.certificate.revoked",
            user=user,
            data={"reason": reason},
        )
    return certificate


def session_certificates_issue(*, session_id: int, user=None) -> int:
    """Issue a certificate to everyone marked present; how many were new."""
    with transaction.atomic():
        session = WorkshopSession.objects.select_related("workshop").get(pk=session_id)
        if not session.has_ended(now=timezone.now()):
            raise CertificateError(
                "Certificates are for completed sessions: this one has not ended "
                "or was cancelled."
            )
        tickets = list(
            # Only the tickets: the session row (locked first by every path that
            # moves seats) and the workshop's page stay free for those paths.
            Ticket.objects.select_for_update(of=("self",))
            .select_related("session__workshop")
            .filter(session=session, status=TicketStatus.VALID, attended=True)
        )
        if not tickets:
            raise CertificateError(
                "Nobody is marked present at this session: record attendance first."
            )
        existing = {
            certificate.ticket_id: certificate
            for certificate in Certificate.objects.select_for_update().filter(
                ticket__in=tickets
            )
        }
        issued = 0
        for ticket in tickets:
            certificate = existing.get(ticket.pk) or _certificate_create(
                ticket, user=user
            )
            if certificate.status == CertificateStatus.REQUESTED:
                _issue(certificate, ticket, user=user)
                issued += 1
    return issued


def certificate_send(*, certificate_id: int) -> bool:
    """Email an issued certificate's PDF once; False if there was nothing to send."""
    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update(of=("self",))
            .select_related("ticket")
            .get(pk=certificate_id)
        )
        if certificate.status != CertificateStatus.ISSUED or certificate.emailed_at:
            return False
        content = certificate_content(certificate)
        send_templated_email(
            template="workshops/emails/certificate_issued",
            to=[certificate.ticket.attendee_email],
            context={
                "certificate": certificate,
                "date_label": content.date_label,
                "verification_url": content.verification_url,
                "ticket_url": ticket_url(certificate.ticket),
            },
            attachments=[
                Attachment(
                    filename=certificate_filename(certificate),
                    content=certificate_pdf(content),
                    mimetype="application/pdf",
                )
            ],
        )
        certificate.mark_emailed(now=timezone.now())
        log(certificate, "workshops.certificate.emailed")
    return True


def certificate_filename(certificate: Certificate) -> str:
    return f"certificate-{certificate.code}.pdf"


def certificate_content(certificate: Certificate) -> CertificateContent:
    """What an issued certificate prints, from its copy and the site's settings."""
    site = _site()
    wording = CertificateSettings.for_site(site)
    organisation = SiteSettings.for_site(site)
    return CertificateContent(
        heading=wording.heading,
        attendee_name=certificate.attendee_name,
        wording=wording.wording,
        workshop_title=certificate.workshop_title,
        date_label=day_label(certificate.session_date),
        hours=certificate.hours,
        organisation_name=organisation.organisation_name,
        code=certificate.code,
        verification_url=certificate_url(certificate),
        signatory_name=wording.signatory_name,
        signatory_title=wording.signatory_title,
        logo=_logo_png(organisation),
    )


def _lock_ticket(ticket_id: int) -> Ticket:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("session__workshop")
        .get(pk=ticket_id)
    )


def _certificate_create(ticket: Ticket, *, user) -> Certificate:
    try:
        # The ticket's row lock already serialises requests; the unique
        # constraint is the last word if anything ever skips it.
        with transaction.atomic():
            certificate = Certificate.objects.create(ticket=ticket)
    except IntegrityError:
        return Certificate.objects.get(ticket=ticket)
    log(certificate, "workshops.certificate.requested", user=user)
    return certificate


def _issue(certificate: Certificate, ticket: Ticket, *, user) -> None:
    session = ticket.session
    certificate.issue(
        attendee_name=ticket.attendee_name,
        workshop_title=session.workshop.title,
        session_date=session.date,
        duration_minutes=session.length_minutes,
        now=timezone.now(),
    )
    log(certificate, "workshops.certificate.issued", user=user)
    enqueue_on_commit(tasks.certificate_send, certificate.pk)


def _site() -> Site | None:
    return Site.objects.filter(is_default_site=True).first()


def _logo_png(organisation: SiteSettings) -> bytes | None:
    if organisation.logo is None:
        return None
    try:
        rendition = organisation.logo.get_rendition(LOGO_RENDITION)
        with rendition.file.open("rb") as handle:
            return handle.read()
    except Exception:
        # A missing or unreadable logo file must not stop a certificate.
        logger.exception("The site logo could not be read for a certificate")
        return None
