"""Group orders in the Wagtail admin: invoice requests and seat codes, with the
staff actions on them (issue an invoice, record a payment, extend, add seats,
void). Each action is a form that calls one service, which logs it."""

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.views.generic import IndexView, InspectView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import Button

from home.exports import export_safe

from . import payments, services
from .forms import (
    CodeAddSeatsForm,
    CodeExtendForm,
    CodeVoidForm,
    InvoiceIssueForm,
    OfflinePaymentForm,
)
from .models import InvoiceRequest, InvoiceStatus, SeatCode


class InvoiceRequestIndexView(IndexView):
    """Invoice requests; names and addresses came from the public form."""

    custom_field_preprocess = export_safe(
        "organisation", "contact_name", "email", "po_number", "notes"
    )


class InvoiceRequestInspectView(InspectView):
    """One request, its invoice or payment, its code, and the next step's buttons."""

    @property
    def header_more_buttons(self):
        return invoice_request_buttons(self.request.user, self.object)


def invoice_request_buttons(user, request: InvoiceRequest) -> list[Button]:
    if not user.has_perm("workshops.change_invoicerequest"):
        return []
    buttons = []
    if request.status == InvoiceStatus.REQUESTED and not payments.demo_mode():
        buttons.append(
            Button(
                "Issue Stripe invoice",
                url=reverse("workshops_invoice_request_issue", args=[request.pk]),
                icon_name="mail",
                priority=10,
            )
        )
    if request.status == InvoiceStatus.INVOICED:
        buttons.append(
            Button(
                "Refresh status from Stripe",
                url=reverse("workshops_invoice_request_refresh", args=[request.pk]),
                icon_name="rotate",
                priority=20,
            )
        )
    if request.status != InvoiceStatus.PAID:
        buttons.append(
            Button(
                "Record check or wire",
                url=reverse("workshops_invoice_request_payment", args=[request.pk]),
                icon_name="success",
                priority=30,
            )
        )
        if payments.demo_mode():
            buttons.append(
                Button(
                    "Mark invoice paid (demo)",
                    url=reverse(
                        "workshops_invoice_request_demo_paid", args=[request.pk]
                    ),
                    icon_name="success",
                    priority=40,
                )
            )
    return buttons


class SeatCodeIndexView(IndexView):
    custom_field_preprocess = export_safe("organisation", "buyer_name", "buyer_email")

    def get_base_queryset(self):
        # Annotated before Wagtail orders it, so a column sort still applies.
        return (
            super()
            .get_base_queryset()
            .select_related("workshop", "invoice_request")
            .with_seats_used()
        )


class SeatCodeInspectView(InspectView):
    """One code: who redeemed it for which session, and the staff actions."""

    template_name = "workshops/admin/seat_code_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["redemptions"] = services.seat_code_redemptions(self.object)
        return context

    @property
    def header_more_buttons(self):
        if self.object.voided_at or not self.request.user.has_perm(
            "workshops.change_seatcode"
        ):
            return []
        return [
            Button(label, url=reverse(name, args=[self.object.pk]), icon_name=icon)
            for label, name, icon in (
                ("Extend expiry", "workshops_seat_code_extend", "date"),
                ("Add seats", "workshops_seat_code_add_seats", "plus"),
                ("Void", "workshops_seat_code_void", "bin"),
            )
        ]


class GroupOrderActionView(
    PermissionRequiredMixin, WagtailAdminTemplateMixin, FormView
):
    """A form about one row; its service does the work and logs it."""

    model: type
    template_name = "workshops/admin/group_order_action.html"
    header_icon = "tag"
    inspect_url_name: str
    success_message: str
    errors: tuple[type[Exception], ...] = ()

    def dispatch(self, request, *args, **kwargs):
        self.object = get_object_or_404(self.model, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return str(self.object)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            object=self.object,
            back_url=self.back_url,
            **kwargs,
        )

    @property
    def back_url(self) -> str:
        return reverse(self.inspect_url_name, args=[self.object.pk])

    def act(self, data: dict):
        raise NotImplementedError

    def form_valid(self, form):
        try:
            self.act(form.cleaned_data)
        except self.errors as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        messages.success(self.request, self.success_message)
        return redirect(self.back_url)


class InvoiceRequestActionView(GroupOrderActionView):
    model = InvoiceRequest
    permission_required = "workshops.change_invoicerequest"
    inspect_url_name = "workshops_invoice_requests:inspect"
    errors = (services.InvoiceError, payments.PaymentsUnavailable)


class IssueInvoiceView(InvoiceRequestActionView):
    page_title = "Issue Stripe invoice"
    form_class = InvoiceIssueForm
    success_message = "The invoice is finalised and Stripe has emailed it."

    def get_initial(self):
        # After a void, the corrected invoice starts from the voided one's price.
        return {"unit_price": self.object.unit_price} if self.object.unit_price else {}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.object.invoice_voided:
            number = self.object.stripe_invoice_number
            context["note"] = (
                f"The last Stripe invoice{f' ({number})' if number else ''} was "
                "voided: this sends a new one in its place."
            )
        return context

    def act(self, data):
        services.invoice_request_issue(
            request_id=self.object.pk,
            unit_price=data["unit_price"],
            days_until_due=data["days_until_due"],
            user=self.request.user,
        )


class RecordPaymentView(InvoiceRequestActionView):
    page_title = "Record a check or wire"
    form_class = OfflinePaymentForm
    success_message = "Payment recorded; the seat code is on its way to the buyer."

    def get_initial(self):
        return {"amount": self.object.amount, "received_on": timezone.localdate()}

    def act(self, data):
        services.invoice_request_record_payment(
            request_id=self.object.pk,
            paid_via=data["paid_via"],
            amount=data["amount"],
            received_on=data["received_on"],
            reference=data["reference"],
            user=self.request.user,
        )


class ConfirmForm(forms.Form):
    """Nothing to fill in: the button is the confirmation."""


class RefreshInvoiceView(InvoiceRequestActionView):
    page_title = "Refresh status from Stripe"
    form_class = ConfirmForm
    success_message = "Status brought up to date with Stripe."

    def act(self, data):
        services.invoice_request_refresh(
            request_id=self.object.pk, user=self.request.user
        )


class DemoPaidView(InvoiceRequestActionView):
    page_title = "Mark invoice paid (demo)"
    form_class = ConfirmForm
    success_message = "Marked paid, as Stripe's invoice.paid would: the code is sent."

    def act(self, data):
        services.invoice_request_mark_paid_demo(
            request_id=self.object.pk, user=self.request.user
        )


class SeatCodeActionView(GroupOrderActionView):
    model = SeatCode
    permission_required = "workshops.change_seatcode"
    inspect_url_name = "workshops_seat_codes:inspect"
    errors = (services.CodeError,)


class ExtendCodeView(SeatCodeActionView):
    page_title = "Extend expiry"
    form_class = CodeExtendForm
    success_message = "Expiry extended; the buyer has been told."

    def act(self, data):
        services.seat_code_extend(
            code_id=self.object.pk,
            valid_until=data["valid_until"],
            user=self.request.user,
        )


class AddSeatsView(SeatCodeActionView):
    page_title = "Add seats"
    form_class = CodeAddSeatsForm
    success_message = "Seats added; the buyer has been told."

    def act(self, data):
        services.seat_code_add_seats(
            code_id=self.object.pk, seats=data["seats"], user=self.request.user
        )


class VoidCodeView(SeatCodeActionView):
    page_title = "Void code"
    form_class = CodeVoidForm
    success_message = "The code is voided; the buyer has been told."

    def act(self, data):
        services.seat_code_void(
            code_id=self.object.pk, reason=data["reason"], user=self.request.user
        )
