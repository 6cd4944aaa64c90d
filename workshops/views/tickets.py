"""A ticket holder's private page: see the ticket, add it to a calendar, hand it
on, and after the session ask for and download a certificate."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from home import throttle

from .. import services
from ..certificate_pdf import certificate_pdf
from ..formatting import session_when
from ..forms import AttendeeChangeForm, TicketDateForm
from ..ical import session_filename, session_ics
from ..models import (
    Certificate,
    CertificateStatus,
    Ticket,
    TicketStatus,
    WorkshopSession,
)
from .calendar import calendar_response


def _ticket_or_404(token: str) -> Ticket:
    ticket = Ticket.from_token(token)
    if ticket is None:
        raise Http404("No such ticket")
    return ticket


@never_cache
def ticket_detail(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _ticket_or_404(token)
    form = AttendeeChangeForm(
        request.POST if request.method == "POST" else None,
        initial={"name": ticket.attendee_name, "email": ticket.attendee_email},
    )
    if request.method == "POST" and not throttle.allow_client(
        request,
        "ticket-change",
        limit=settings.CHECKOUT_RATE_LIMIT,
        window=60 * 60,
    ):
        messages.error(request, "Too many changes in the last hour; try again later.")
        return redirect("workshops:ticket", token=token)
    if request.method == "POST" and form.is_valid():
        try:
            updated = services.ticket_update_attendee(
                ticket_id=ticket.pk,
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
            )
        except services.TicketError as error:
            messages.error(request, str(error))
            return redirect("workshops:ticket", token=token)
        if updated.secret != ticket.secret:
            # Handed on: this link no longer works, so say where the seat went.
            return render(
                request,
                "workshops/ticket_handed_over.html",
                {"ticket": updated, "page": ticket.session.workshop},
            )
        messages.success(request, "The attendee details are saved.")
        return redirect("workshops:ticket", token=token)
    return render(
        request,
        "workshops/ticket.html",
        {
            "ticket": ticket,
            "session": ticket.session,
            "page": ticket.session.workshop,
            "form": form,
            "is_valid": ticket.status == TicketStatus.VALID,
            "date_form": _date_form(ticket),
            **_certificate_context(ticket),
        },
        status=400 if form.is_bound else 200,
    )


def _date_form(ticket: Ticket, data=None) -> TicketDateForm | None:
    """The other dates the holder may move to, each in their zone and the
    session's; None when there are none."""
    dates = services.ticket_other_dates(ticket=ticket)
    if not dates:
        return None
    zone = ticket.order.buyer_time_zone
    return TicketDateForm(data, choices=[(s.pk, _date_label(s, zone)) for s in dates])


def _date_label(session: WorkshopSession, zone: str) -> str:
    label = session_when(session)
    if zone and zone != session.time_zone:
        label = f"{session_when(session, zone)} (where it is taught: {label})"
    if session.audience_label:
        label = f"{label}, {session.audience_label}"
    return label


@require_POST
def ticket_change_date(request: HttpRequest, token: str) -> HttpResponse:
    """The holder moves their own ticket to another date of the same workshop."""
    ticket = _ticket_or_404(token)
    if not throttle.allow_client(
        request, "ticket-change", limit=settings.CHECKOUT_RATE_LIMIT, window=60 * 60
    ):
        messages.error(request, "Too many changes in the last hour; try again later.")
        return redirect("workshops:ticket", token=token)
    form = _date_form(ticket, request.POST)
    if form is None or not form.is_valid():
        messages.error(request, "Choose one of the dates listed.")
        return redirect("workshops:ticket", token=token)
    try:
        services.ticket_change_date(
            ticket_id=ticket.pk, session_id=form.cleaned_data["session"]
        )
    except (services.TicketError, services.CheckoutError) as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            "Your ticket is now for the new date. Two emails follow: one takes "
            "the old date out of your calendar, one puts the new date in.",
        )
    return redirect("workshops:ticket", token=token)


def _certificate_context(ticket: Ticket) -> dict:
    """What the page says of a certificate: none is offered before the session."""
    certificate = Certificate.objects.filter(ticket=ticket).first()
    ended = ticket.session.has_ended(now=timezone.now())
    return {
        "certificate": certificate,
        "certificate_issued": certificate is not None
        and certificate.status == CertificateStatus.ISSUED,
        "show_certificate": ended and ticket.status == TicketStatus.VALID,
        "certificate_refusal": None
        if certificate
        else services.certificate_refusal(ticket, now=timezone.now()),
    }


@require_POST
def ticket_certificate_request(request: HttpRequest, token: str) -> HttpResponse:
    """The holder asks for a certificate; a double click gets the same one."""
    ticket = _ticket_or_404(token)
    if not throttle.allow_client(
        request,
        "certificate-request",
        limit=settings.CHECKOUT_RATE_LIMIT,
        window=60 * 60,
    ):
        messages.error(request, "Too many requests in the last hour; try again later.")
        return redirect("workshops:ticket", token=token)
    try:
        certificate = services.certificate_request(ticket_id=ticket.pk)
    except services.CertificateError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            "Your certificate is ready: download it below. We have emailed it too."
            if certificate.status == CertificateStatus.ISSUED
            else "Your request is in. Once our team approves it, the certificate "
            "is emailed to you and can be downloaded here.",
        )
    return redirect("workshops:ticket", token=token)


@never_cache
def ticket_certificate_pdf(request: HttpRequest, token: str) -> HttpResponse:
    """The issued certificate as a PDF, for the holder only."""
    ticket = _ticket_or_404(token)
    certificate = Certificate.objects.filter(
        ticket=ticket, status=CertificateStatus.ISSUED
    ).first()
    if certificate is None:
        raise Http404("This ticket has no issued certificate")
    response = HttpResponse(
        certificate_pdf(services.certificate_content(certificate)),
        content_type="application/pdf",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{services.certificate_filename(certificate)}"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


def ticket_calendar(request: HttpRequest, token: str) -> HttpResponse:
    """The session as a calendar entry, with the private joining link."""
    ticket = _ticket_or_404(token)
    if ticket.status != TicketStatus.VALID:
        raise Http404("This ticket is not valid")
    session = ticket.session
    body = session_ics(
        session,
        url=session.workshop.get_full_url(request),
        meeting_url=session.meeting_url,
    )
    return calendar_response(
        request,
        body,
        filename=session_filename(session),
        max_age=0,
        attachment=True,
        private=True,
    )
