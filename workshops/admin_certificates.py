"""Attendance and certificates in the Wagtail admin: marking who came, issuing,
approving and revoking certificates, and the staff's copy of a PDF."""

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.views.generic import IndexView, InspectView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import Button

from home.exports import export_safe

from . import services
from .certificate_pdf import certificate_pdf
from .formatting import session_when
from .models import (
    Certificate,
    CertificateStatus,
    Ticket,
    WorkshopSession,
)
from .selectors import session_attendees


class AttendanceForm(forms.Form):
    present = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Present",
        help_text="Everyone is ticked to begin with: untick those who did not come.",
    )

    def __init__(self, *args, tickets: list[Ticket], **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["present"]
        field.choices = [(ticket.pk, attendee_label(ticket)) for ticket in tickets]
        # Not yet recorded counts as present: most people come.
        field.initial = [
            ticket.pk for ticket in tickets if ticket.attended is not False
        ]


def attendee_label(ticket: Ticket) -> str:
    certificate = getattr(ticket, "certificate", None)
    note = (
        f" · certificate {certificate.get_status_display().lower()}"
        if certificate
        else ""
    )
    return f"{ticket.attendee_name} ({ticket.attendee_email}){note}"


class SessionAttendanceView(
    PermissionRequiredMixin, WagtailAdminTemplateMixin, FormView
):
    """One session's valid tickets, each with a box to tick: who came."""

    permission_required = "workshops.change_ticket"
    template_name = "workshops/admin/attendance.html"
    page_title = "Attendance"
    header_icon = "tasks"
    form_class = AttendanceForm

    def dispatch(self, request, *args, **kwargs):
        self.session = get_object_or_404(
            WorkshopSession.objects.select_related("workshop"), pk=kwargs["pk"]
        )
        self.tickets = session_attendees(self.session)
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return f"{self.session.workshop.title}: {session_when(self.session)}"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "tickets": self.tickets}

    def get_context_data(self, **kwargs):
        issued = sum(
            1
            for ticket in self.tickets
            if getattr(ticket, "certificate", None)
            and ticket.certificate.status == CertificateStatus.ISSUED
        )
        return super().get_context_data(
            session=self.session,
            tickets=self.tickets,
            ended=self.session.has_ended(now=timezone.now()),
            recorded=any(ticket.attended is not None for ticket in self.tickets),
            issued=issued,
            can_issue=self.request.user.has_perm("workshops.change_certificate"),
            attendees_url=reverse("workshops_tickets:index")
            + f"?session={self.session.pk}",
            **kwargs,
        )

    def form_valid(self, form):
        try:
            result = services.session_attendance_record(
                session_id=self.session.pk,
                attended_ticket_ids=form.cleaned_data["present"],
                user=self.request.user,
            )
        except services.AttendanceError as error:
            messages.error(self.request, str(error))
        else:
            messages.success(
                self.request,
                f"Attendance saved: {result.present} present, {result.absent} absent.",
            )
        return redirect("workshops_session_attendance", self.session.pk)


class SessionCertificatesIssueView(PermissionRequiredMixin, View):
    """Issue a certificate to everyone marked present at a session."""

    permission_required = "workshops.change_certificate"
    http_method_names = ["post"]

    def post(self, request, pk):
        session = get_object_or_404(WorkshopSession, pk=pk)
        try:
            issued = services.session_certificates_issue(
                session_id=session.pk, user=request.user
            )
        except services.CertificateError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                f"{issued} certificate{'s' if issued != 1 else ''} issued; each "
                "attendee is emailed their PDF in a moment."
                if issued
                else "Everyone present already has a certificate (or had one revoked).",
            )
        return redirect("workshops_session_attendance", session.pk)


class CertificateIndexView(IndexView):
    """Certificates and requests, with their ticket and session alongside."""

    custom_field_preprocess = export_safe("ticket__attendee_name")

    def get_queryset(self):
        return super().get_queryset().select_related("ticket__session__workshop")


class CertificateInspectView(InspectView):
    """One certificate, with approve, revoke and the PDF in its header."""

    @property
    def header_more_buttons(self):
        return certificate_action_buttons(self.request.user, self.object)


def certificate_action_buttons(user, certificate: Certificate) -> list[Button]:
    buttons = []
    if certificate.status == CertificateStatus.ISSUED:
        buttons.append(
            Button(
                "Download PDF",
                url=reverse("workshops_certificate_pdf", args=[certificate.pk]),
                icon_name="download",
                priority=30,
            )
        )
    if not user.has_perm("workshops.change_certificate"):
        return buttons
    if certificate.status == CertificateStatus.REQUESTED:
        buttons.append(
            Button(
                "Approve and send",
                url=reverse("workshops_certificate_approve", args=[certificate.pk]),
                icon_name="check",
                priority=40,
            )
        )
    if certificate.status != CertificateStatus.REVOKED:
        buttons.append(
            Button(
                "Revoke"
                if certificate.status == CertificateStatus.ISSUED
                else "Refuse",
                url=reverse("workshops_certificate_revoke", args=[certificate.pk]),
                icon_name="cross",
                priority=50,
            )
        )
    return buttons


class ApproveCertificateForm(forms.Form):
    pass


class RevokeCertificateForm(forms.Form):
    reason = forms.CharField(
        max_length=255,
        label="Reason",
        help_text="Kept in the certificate's history; the verification page only "
        "says it is revoked.",
    )


class CertificateActionView(
    PermissionRequiredMixin, WagtailAdminTemplateMixin, FormView
):
    permission_required = "workshops.change_certificate"
    template_name = "workshops/admin/certificate_action.html"
    header_icon = "doc-full"

    def dispatch(self, request, *args, **kwargs):
        self.certificate = get_object_or_404(
            Certificate.objects.select_related("ticket__session__workshop"),
            pk=kwargs["pk"],
        )
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return f"{self.certificate.ticket.attendee_name}, {self.certificate.code}"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            certificate=self.certificate,
            when=session_when(self.certificate.ticket.session),
            **kwargs,
        )

    def done(self):
        return redirect(
            reverse("workshops_certificates:inspect", args=[self.certificate.pk])
        )


class ApproveCertificateView(CertificateActionView):
    page_title = "Approve certificate"
    form_class = ApproveCertificateForm

    def form_valid(self, form):
        try:
            services.certificate_approve(
                certificate_id=self.certificate.pk, user=self.request.user
            )
        except services.CertificateError as error:
            messages.error(self.request, str(error))
        else:
            messages.success(
                self.request, "Approved: the attendee is emailed the PDF in a moment."
            )
        return self.done()


class RevokeCertificateView(CertificateActionView):
    page_title = "Revoke certificate"
    form_class = RevokeCertificateForm

    def form_valid(self, form):
        services.certificate_revoke(
            certificate_id=self.certificate.pk,
            reason=form.cleaned_data["reason"],
            user=self.request.user,
        )
        messages.success(self.request, "Revoked: its verification page now says so.")
        return self.done()


class CertificatePdfView(PermissionRequiredMixin, View):
    """Staff see the PDF exactly as the attendee has it."""

    permission_required = "workshops.view_certificate"

    def get(self, request, pk):
        certificate = get_object_or_404(
            Certificate, pk=pk, status=CertificateStatus.ISSUED
        )
        response = HttpResponse(
            certificate_pdf(services.certificate_content(certificate)),
            content_type="application/pdf",
        )
        response["Content-Disposition"] = (
            f'inline; filename="{services.certificate_filename(certificate)}"'
        )
        response["Cache-Control"] = "private, no-store"
        return response
