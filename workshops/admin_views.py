"""Sales in the Wagtail admin: listings, history, and staff actions on tickets
(cancel with a refund, move). Attendance and certificates: admin_certificates."""

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.views.generic import HistoryView, IndexView, InspectView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import Button, HeaderButton

from home.exports import export_safe

from . import services
from .formatting import session_when
from .models import (
    SessionStatus,
    Ticket,
    TicketStatus,
    WorkshopSession,
)
from .selectors import with_seats_taken


class SalesHistoryView(HistoryView):
    """Who changed what: open to those who may look, as nobody edits by hand."""

    any_permission_required = ["view"]


class OrderIndexView(IndexView):
    """Orders, with their session and ticket type fetched alongside."""

    # Names and addresses come from the public booking form.
    custom_field_preprocess = export_safe("buyer_name", "buyer_email")

    def get_queryset(self):
        return super().get_queryset().select_related("session__workshop", "ticket_type")


class TicketIndexView(IndexView):
    """Attendees, each with the staff actions a valid ticket allows."""

    # The menu's word, not the model's ("Tickets"), so both say the same.
    page_title = "Attendees"
    custom_field_preprocess = export_safe("attendee_name", "attendee_email")

    def get_queryset(self):
        return super().get_queryset().select_related("order", "session__workshop")

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        return buttons + ticket_action_buttons(self.request.user, instance)

    @cached_property
    def header_buttons(self):
        # Filtered by one session, the list is that session's attendee list.
        session_id = self.request.GET.get("session", "")
        if not session_id.isdigit() or not self.request.user.has_perm(
            "workshops.change_ticket"
        ):
            return super().header_buttons
        return [
            *super().header_buttons,
            HeaderButton(
                "Attendance and certificates",
                url=reverse("workshops_session_attendance", args=[int(session_id)]),
                icon_name="tasks",
            ),
        ]


class TicketInspectView(InspectView):
    """One attendee's ticket, with the staff actions in its header and its refunds."""

    def get_fields(self):
        fields = super().get_fields()
        return fields if "refunds" in fields else [*fields, "refunds"]

    @property
    def header_more_buttons(self):
        return ticket_action_buttons(self.request.user, self.object)


def ticket_action_buttons(user, ticket: Ticket) -> list[Button]:
    if ticket.status != TicketStatus.VALID or not user.has_perm(
        "workshops.change_ticket"
    ):
        return []
    return [
        Button(
            "Move to another session",
            url=reverse("workshops_ticket_move", args=[ticket.pk]),
            icon_name="resubmit",
            priority=40,
        ),
        Button(
            "Cancel and refund",
            url=reverse("workshops_ticket_cancel", args=[ticket.pk]),
            icon_name="bin",
            priority=50,
        ),
    ]


class CancelTicketForm(forms.Form):
    refund = forms.BooleanField(
        required=False,
        initial=True,
        label="Refund this seat's share of the payment",
        help_text="Through Stripe, to the card or account that paid.",
    )


class MoveTicketForm(forms.Form):
    session = forms.ModelChoiceField(
        queryset=WorkshopSession.objects.none(),
        label="Move to",
        empty_label=None,
    )
    confirm_price = forms.BooleanField(
        required=False,
        label="Move even though a seat there costs a different price",
        help_text="No money moves by itself: refund or charge the difference "
        "separately.",
    )
    # The per-seat difference staff were shown for the chosen session; the
    # move goes ahead only if it is still the difference when they confirm.
    shown_difference = forms.DecimalField(
        required=False, widget=forms.HiddenInput, decimal_places=2, max_digits=10
    )

    def __init__(self, *args, ticket: Ticket, **kwargs):
        super().__init__(*args, **kwargs)
        self.ticket_type = ticket.order.ticket_type
        field = self.fields["session"]
        # Seats counted in the same query, not once per option.
        field.queryset = (
            with_seats_taken(WorkshopSession.objects.filter(ends_at__gt=timezone.now()))
            .exclude(status__in=[SessionStatus.CANCELLED, SessionStatus.COMPLETED])
            .exclude(pk=ticket.session_id)
            .select_related("workshop")
            .prefetch_related("workshop__ticket_types")
            .order_by("starts_at")
        )
        field.label_from_instance = lambda session: (
            f"{session.workshop.title}: {session_when(session)}"
            f" ({session.seats_left} free{self.price_note(session)})"
        )

    def quote(self, session: WorkshopSession) -> services.MoveQuote:
        return services.ticket_move_quote(
            ticket_type=self.ticket_type,
            offered=list(session.workshop.ticket_types.all()),
            workshop_title=session.workshop.title,
        )

    def price_note(self, session: WorkshopSession) -> str:
        """What the move does to the price, beside each session offered."""
        try:
            difference = self.quote(session).difference
        except services.TicketError:
            return f"; {self.ticket_type.name} not sold there"
        if not difference:
            return ""
        return (
            f"; ${abs(difference):,.2f} a seat {'more' if difference > 0 else 'less'}"
        )


class TicketActionView(PermissionRequiredMixin, WagtailAdminTemplateMixin, FormView):
    permission_required = "workshops.change_ticket"
    template_name = "workshops/admin/ticket_action.html"
    header_icon = "tag"

    def dispatch(self, request, *args, **kwargs):
        self.ticket = get_object_or_404(
            Ticket.objects.select_related("order", "session__workshop"),
            pk=kwargs["pk"],
        )
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return f"{self.ticket.attendee_name}, order {self.ticket.order.reference}"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            ticket=self.ticket,
            when=session_when(self.ticket.session),
            is_valid=self.ticket.status == TicketStatus.VALID,
            **kwargs,
        )

    def done(self):
        return redirect(reverse("workshops_tickets:inspect", args=[self.ticket.pk]))


class CancelTicketView(TicketActionView):
    page_title = "Cancel ticket"
    form_class = CancelTicketForm

    def form_valid(self, form):
        try:
            services.ticket_cancel(
                ticket_id=self.ticket.pk,
                refund=form.cleaned_data["refund"],
                user=self.request.user,
            )
        except services.TicketError as error:
            messages.error(self.request, str(error))
        else:
            messages.success(
                self.request,
                "The ticket is cancelled and its seat free. Any refund goes to "
                "Stripe in a moment; its result shows under Refunds on this page.",
            )
        return self.done()


class MoveTicketView(TicketActionView):
    page_title = "Move attendee"
    form_class = MoveTicketForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "ticket": self.ticket}

    def form_valid(self, form):
        session = form.cleaned_data["session"]
        try:
            services.ticket_move(
                ticket_id=self.ticket.pk,
                session_id=session.pk,
                confirmed_difference=form.cleaned_data["shown_difference"]
                if form.cleaned_data["confirm_price"]
                else None,
                user=self.request.user,
            )
        except services.PriceDifference as error:
            return self._show_difference(form, session, str(error))
        except (services.TicketError, services.SessionBusy) as error:
            form.add_error("session", str(error))
            return self.form_invalid(form)
        messages.success(self.request, "The attendee has been moved and told by email.")
        return self.done()

    def _show_difference(self, form, session: WorkshopSession, reason: str):
        """Ask again, carrying the difference shown now: only it can be confirmed."""
        data = form.data.copy()
        data["shown_difference"] = str(form.quote(session).difference)
        data.pop("confirm_price", None)
        form = self.get_form_class()(data, ticket=self.ticket)
        form.is_valid()
        form.add_error("confirm_price", reason)
        return self.form_invalid(form)
