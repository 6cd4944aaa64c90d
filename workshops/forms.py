"""Forms: the workshop pages' admin forms, and checkout and ticket forms."""

import calendar
from decimal import Decimal

from django import forms
from wagtail.admin.forms import WagtailAdminPageForm

from home.forms import PublicForm, has_control_characters, validate_one_line

# From the module, not the package: the page models import this module while
# the package is still loading.
from .models.invoices import (
    INVOICE_SEATS_MAX,
    INVOICE_SEATS_MIN,
    InvoicePaymentMethod,
    PaidVia,
)

MONTHS = [(number, calendar.month_name[number]) for number in range(1, 13)]


class YearsField(forms.Field):
    """Comma-separated years, such as '2027, 2028'."""

    def to_python(self, value):
        if isinstance(value, list):
            return value
        years = []
        for part in (value or "").replace(" ", "").split(","):
            if not part:
                continue
            if not part.isdigit() or not 2000 <= int(part) <= 2200:
                raise forms.ValidationError(
                    "Enter years as four digits separated by commas, e.g. 2027, 2028."
                )
            years.append(int(part))
        return sorted(set(years))

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(year) for year in value)
        return value


class ScheduleIndexPageForm(WagtailAdminPageForm):
    months_without_workshops = forms.TypedMultipleChoiceField(
        choices=MONTHS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Months in which you never run workshops; the schedule says so "
        "plainly instead of leaving a gap.",
    )
    draft_years = YearsField(
        required=False,
        help_text="Years whose dates are not settled yet, e.g. '2027'. The schedule "
        "marks them as a draft.",
    )


class WorkshopPageForm(WagtailAdminPageForm):
    """Sessions that sold tickets are cancelled, never removed from the page."""

    def clean(self):
        cleaned = super().clean()
        sessions = self.formsets.get("sessions")
        if sessions is None or not self.instance.pk or not sessions.is_valid():
            return cleaned
        kept = {
            form.instance.pk
            for form in sessions.forms
            if form.instance.pk and form not in sessions.deleted_forms
        }
        sold = (
            self.instance.sessions.model.objects.filter(
                workshop=self.instance, tickets__isnull=False
            )
            .exclude(pk__in=kept)
            .distinct()
        )
        for session in sold:
            self.add_error(
                None,
                f"The session on {session.date:%-d %B %Y} has tickets, so it cannot "
                "be removed: set its status to Cancelled instead.",
            )
        return cleaned


class PersonNameField(forms.CharField):
    """A person's name: one line, no control characters."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if has_control_characters(value):
            raise forms.ValidationError("Write the name on one line.")
        return value


class TicketChoiceForm(PublicForm):
    """Step one of checkout: which ticket type, and how many."""

    ticket_type = forms.ModelChoiceField(
        queryset=None,
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"invalid_choice": "Choose one of the tickets on sale."},
    )
    quantity = forms.IntegerField(
        label="Number of tickets",
        min_value=1,
        initial=1,
        error_messages={"min_value": "Choose at least one ticket."},
    )

    def __init__(
        self, *args, ticket_types, other_sessions=(), session_label=str, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.other_sessions = list(other_sessions)
        # Other dates of the same workshop in the same order, held together.
        for session in self.other_sessions:
            self.fields[f"also_{session.pk}"] = forms.IntegerField(
                label=f"Tickets on {session_label(session)}",
                min_value=0,
                max_value=50,
                required=False,
                initial=0,
            )
        self.fields["ticket_type"].queryset = ticket_types
        self.fields["ticket_type"].label_from_instance = lambda ticket_type: (
            f"{ticket_type.name}: ${ticket_type.price:,.2f}"
            + (
                f" for {ticket_type.seats_per_ticket} people"
                if ticket_type.seats_per_ticket > 1
                else ""
            )
        )
        if len(ticket_types) == 1:
            self.fields["ticket_type"].initial = ticket_types[0]

    def clean(self):
        cleaned = super().clean()
        ticket_type, quantity = cleaned.get("ticket_type"), cleaned.get("quantity")
        if ticket_type and quantity and quantity > ticket_type.max_per_order:
            self.add_error(
                "quantity",
                f"One order can hold at most {ticket_type.max_per_order} of these.",
            )
        for session in self.other_sessions:
            name = f"also_{session.pk}"
            more = cleaned.get(name) or 0
            if ticket_type and more > ticket_type.max_per_order:
                self.add_error(
                    name,
                    f"One order can hold at most {ticket_type.max_per_order} of "
                    "these for each date.",
                )
        return cleaned

    @property
    def also(self) -> list[tuple[int, int]]:
        """(session id, tickets) for each other date chosen."""
        return [
            (session.pk, self.cleaned_data.get(f"also_{session.pk}") or 0)
            for session in self.other_sessions
            if self.cleaned_data.get(f"also_{session.pk}")
        ]

    @property
    def also_sessions(self) -> list:
        """Each other date chosen, with its tickets, for the summary."""
        chosen = dict(self.also)
        return [
            (session, chosen[session.pk])
            for session in self.other_sessions
            if session.pk in chosen
        ]

    @property
    def tickets(self) -> int:
        return self.cleaned_data["quantity"] + sum(n for _, n in self.also)

    @property
    def seats(self) -> int:
        return self.tickets * self.cleaned_data["ticket_type"].seats_per_ticket

    @property
    def total(self):
        return self.cleaned_data["ticket_type"].price * self.tickets


class BuyerForm(PublicForm):
    """Step two: who is paying, and where they are."""

    buyer_name = PersonNameField(label="Your name")
    buyer_email = forms.EmailField(
        label="Your email address",
        max_length=254,
        help_text="We send the receipt and the tickets here.",
    )
    # Filled in by the browser (Intl) so emails can show the buyer's local time.
    buyer_time_zone = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput
    )


class AttendeeForm(PublicForm):
    name = PersonNameField(label="Name")
    email = forms.EmailField(label="Email address", max_length=254)


AttendeeFormSet = forms.formset_factory(
    AttendeeForm, extra=0, min_num=1, validate_min=True, validate_max=True, max_num=500
)


class AttendeeChangeForm(PublicForm):
    """What a ticket holder may change: who comes."""

    name = PersonNameField(label="Attendee name")
    email = forms.EmailField(label="Attendee email address", max_length=254)


class TicketDateForm(PublicForm):
    """A holder's choice of another date of the same workshop."""

    session = forms.TypedChoiceField(
        label="Another date", coerce=int, widget=forms.RadioSelect
    )

    def __init__(self, *args, choices: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["session"].choices = choices


class SeatCodeField(forms.CharField):
    """A seat code as typed: any case, with or without dashes or spaces."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("strip", True)
        super().__init__(**kwargs)


class CodeRedeemForm(PublicForm):
    """Step two, for a group's colleague: a seat code instead of payment."""

    seat_code = SeatCodeField(
        label="Seat code (optional)",
        required=False,
        help_text="Have a code from your organisation? Enter it and the seats are "
        "yours with no payment.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "autocapitalize": "characters",
            }
        ),
    )


class InvoiceRequestForm(PublicForm):
    """A group asks for an invoice: who pays, for how many seats, and how."""

    organisation = forms.CharField(
        label="Organisation",
        max_length=200,
        validators=[validate_one_line],
        error_messages={"required": "Enter your organisation's name."},
    )
    contact_name = PersonNameField(
        label="Billing contact",
        error_messages={"required": "Enter the billing contact's name."},
    )
    email = forms.EmailField(
        label="Billing email",
        max_length=254,
        help_text="We send the invoice and, once it is paid, the seat code here.",
        error_messages={
            "required": "Enter the billing email address.",
            "invalid": "Enter an email address like name@example.com.",
        },
    )
    seats = forms.IntegerField(
        label="Number of seats",
        min_value=INVOICE_SEATS_MIN,
        max_value=INVOICE_SEATS_MAX,
        error_messages={
            "required": "Say how many seats you need.",
            "invalid": "Enter the number of seats as a whole number, like 8.",
            "min_value": "An invoice is for at least %(limit_value)s seat.",
            "max_value": "We invoice up to %(limit_value)s seats at once; for more, "
            "write to us about a private workshop.",
        },
    )
    po_number = forms.CharField(
        label="PO number (optional)",
        max_length=100,
        required=False,
        validators=[validate_one_line],
    )
    payment_method = forms.ChoiceField(
        label="How you would like to pay",
        choices=InvoicePaymentMethod.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how you would like to pay."},
    )
    w9_wanted = forms.BooleanField(
        label="Send me your W-9 with the acknowledgement", required=False
    )
    notes = forms.CharField(
        label="Notes (optional)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    # A field people never see: software that fills in every input fills this.
    website = forms.CharField(label="Leave this field empty", required=False)

    def clean_website(self) -> str:
        if self.cleaned_data["website"]:
            raise forms.ValidationError(
                "The form arrived with a hidden anti-spam field filled in, so "
                "nothing was sent. If you filled in the form yourself, please "
                "send it again."
            )
        return ""


class CodeShareForm(PublicForm):
    """The buyer sends the code to a colleague."""

    name = PersonNameField(label="Colleague's name (optional)", required=False)
    email = forms.EmailField(
        label="Colleague's email address",
        max_length=254,
        error_messages={"invalid": "Enter an email address like name@example.com."},
    )


class InvoiceIssueForm(forms.Form):
    """Staff: the price per seat and the days to pay, for a Stripe invoice."""

    unit_price = forms.DecimalField(
        label="Price per seat (USD)", min_value=Decimal("0.01"), decimal_places=2
    )
    days_until_due = forms.IntegerField(
        label="Days to pay", min_value=1, max_value=120, initial=30
    )


class OfflinePaymentForm(forms.Form):
    """Staff: a check or a wire that arrived outside Stripe."""

    paid_via = forms.ChoiceField(
        label="Paid by",
        choices=[
            (PaidVia.CHECK, PaidVia.CHECK.label),
            (PaidVia.WIRE, PaidVia.WIRE.label),
        ],
    )
    amount = forms.DecimalField(
        label="Amount received (USD)", min_value=Decimal("0.01"), decimal_places=2
    )
    received_on = forms.DateField(
        label="Date received",
        help_text="The day the money arrived: the code is valid a year from it.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    reference = forms.CharField(
        label="Check number or wire reference",
        max_length=200,
        validators=[validate_one_line],
    )


class CodeExtendForm(forms.Form):
    valid_until = forms.DateField(
        label="New last day", widget=forms.DateInput(attrs={"type": "date"})
    )


class CodeAddSeatsForm(forms.Form):
    seats = forms.IntegerField(label="Seats to add", min_value=1, max_value=500)


class CodeVoidForm(forms.Form):
    reason = forms.CharField(
        label="Why (the buyer is told)",
        max_length=255,
        validators=[validate_one_line],
    )
