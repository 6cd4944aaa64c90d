"""Forms: the workshop pages' admin forms, and checkout and ticket forms."""

import calendar

from django import forms
from wagtail.admin.forms import WagtailAdminPageForm

from home.forms import PublicForm, has_control_characters

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

    def __init__(self, *args, ticket_types, **kwargs):
        super().__init__(*args, **kwargs)
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
        return cleaned

    @property
    def seats(self) -> int:
        return self.cleaned_data["quantity"] * (
            self.cleaned_data["ticket_type"].seats_per_ticket
        )

    @property
    def total(self):
        return self.cleaned_data["ticket_type"].price * self.cleaned_data["quantity"]


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
