"""Forms for signing up, managing preferences and importing subscribers."""

import csv
import io

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from home.forms import PublicForm, validate_one_line
from workshops.models import available_time_zones

from .announcing import Availability
from .models import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, MailingList, name_problem
from .selectors import public_lists

HONEYPOT_FIELD = "website"
IMPORT_MAX_BYTES = 5 * 1024 * 1024


def validate_name(value: str) -> None:
    """A person's name: one line, and nothing a mail client would decode."""
    problem = name_problem(value)
    if problem:
        raise ValidationError(problem)


class ListCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes that point screen readers to their list's description.

    The templates draw the description under each label with the id
    `<checkbox id>_description`.
    """

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        box_id = option["attrs"].get("id")
        if box_id and instance is not None and instance.description:
            option["attrs"]["aria-describedby"] = f"{box_id}_description"
        return option


class FetchedChoices(forms.models.ModelChoiceIterator):
    """Choices from the field's queryset as fetched, not fetched again.

    Django's iterator queries afresh each time it is drawn; a form that has
    already read its lists (to know whether there are any) draws those.
    """

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ListChoiceField(forms.ModelMultipleChoiceField):
    """Lists as checkboxes, each labelled with its name and description."""

    widget = ListCheckboxes
    iterator = FetchedChoices
    pending_ids: frozenset[int] = frozenset()

    def label_from_instance(self, obj: MailingList) -> str:
        if obj.pk in self.pending_ids:
            return f"{obj.name} (waiting for your confirmation)"
        return obj.name


HOUR_FROM_CHOICES = [("", "Any time")] + [(h, f"{h:02d}:00") for h in range(24)]
HOUR_UNTIL_CHOICES = [("", "Any time")] + [(h, f"{h:02d}:00") for h in range(1, 25)]


def time_zone_choices() -> list[tuple[str, str]]:
    return [("", "The session's own time zone")] + [
        (zone, zone.replace("_", " ")) for zone in sorted(available_time_zones())
    ]


class AvailabilityForm(PublicForm):
    """When someone can attend: their zone, and the hours new dates must fit in.

    Optional; asked for on forms of a list that announces new workshop dates.
    """

    time_zone = forms.ChoiceField(
        label="Your time zone",
        required=False,
        choices=time_zone_choices,
        help_text="Dates are shown in it.",
    )
    attend_from = forms.TypedChoiceField(
        label="Sessions that start from",
        required=False,
        choices=HOUR_FROM_CHOICES,
        coerce=int,
        empty_value=None,
    )
    attend_until = forms.TypedChoiceField(
        label="and end by",
        required=False,
        choices=HOUR_UNTIL_CHOICES,
        coerce=int,
        empty_value=None,
        help_text="Only dates inside these hours of your day reach you; leave "
        "both at “Any time” to hear of every date.",
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("attend_from"), cleaned.get("attend_until")
        if (start is None) != (end is None):
            self.add_error(
                "attend_until",
                "Choose both hours, or leave both at “Any time”.",
            )
        elif start is not None and start == end % 24:
            self.add_error("attend_until", "The hours must not start and end alike.")
        elif start is not None and not cleaned.get("time_zone"):
            self.add_error(
                "time_zone", "Choose your time zone, so the hours mean your day."
            )
        return cleaned

    @property
    def asks_availability(self) -> bool:
        """Whether a list on offer announces new dates: only then are hours asked."""
        return any(
            mailing_list.announces_new_dates
            for mailing_list in self.fields["lists"].queryset
        )

    @property
    def availability(self) -> Availability:
        return Availability(
            self.cleaned_data.get("time_zone") or "",
            self.cleaned_data.get("attend_from"),
            self.cleaned_data.get("attend_until"),
        )


class SignupForm(AvailabilityForm):
    """Email, optional name and lists; the consent text is shown beside it."""

    email = forms.EmailField(
        label="Email address",
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Enter your email address.",
            "invalid": "Enter an email address like name@example.com.",
        },
    )
    name = forms.CharField(
        label="Name (optional)",
        max_length=NAME_MAX_LENGTH,
        required=False,
        validators=[validate_name],
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={
            "max_length": "Keep your name to %(limit_value)d characters or fewer."
        },
    )
    lists = ListChoiceField(
        label="Lists",
        queryset=MailingList.objects.none(),
        error_messages={
            "required": "Choose at least one list.",
            "invalid_choice": "Choose from the lists shown on this form.",
            "invalid_pk_value": "Choose from the lists shown on this form.",
        },
    )
    # A field people never see: software that fills in every input fills this.
    website = forms.CharField(label="Leave this field empty", required=False)
    source = forms.CharField(
        widget=forms.HiddenInput,
        max_length=40,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9_-]*$")],
    )
    consent_version = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, consent_digest: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.consent_digest = consent_digest
        self.fields["lists"].queryset = public_lists()
        self.offered_lists = list(self.fields["lists"].queryset)
        self.fields["consent_version"].initial = consent_digest
        if not self.is_bound and len(self.offered_lists) == 1:
            self.fields["lists"].initial = [self.offered_lists[0].pk]

    def clean_website(self) -> str:
        value = self.cleaned_data["website"]
        if value:
            raise ValidationError(
                "The form arrived with a hidden anti-spam field filled in, so "
                "nothing was saved. If you filled in the form yourself, please "
                "send it again."
            )
        return value

    def clean_consent_version(self) -> str:
        value = self.cleaned_data["consent_version"]
        if value != self.consent_digest:
            raise ValidationError(
                "The consent wording changed while this page was open. Please "
                "read it again and send the form once more."
            )
        return value

    @property
    def hidden_errors(self) -> list[str]:
        """Errors on fields a person cannot see, shown at the top of the form."""
        return [
            error
            for name in ("source", "consent_version")
            for error in self.errors.get(name, [])
        ]


class PreferencesForm(AvailabilityForm):
    """A subscriber's name and the lists they want."""

    name = forms.CharField(
        label="Name (optional)",
        max_length=NAME_MAX_LENGTH,
        required=False,
        validators=[validate_name],
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    lists = ListChoiceField(
        label="Lists you receive",
        queryset=MailingList.objects.none(),
        required=False,
        error_messages={
            "invalid_choice": "Choose from the lists shown on this page.",
            "invalid_pk_value": "Choose from the lists shown on this page.",
        },
    )

    def __init__(
        self,
        *args,
        offered_ids: list[int],
        pending_ids: frozenset[int] = frozenset(),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["lists"].queryset = MailingList.objects.filter(pk__in=offered_ids)
        self.fields["lists"].pending_ids = pending_ids


class ImportForm(forms.Form):
    """A CSV file of people who agreed elsewhere, and where they agreed."""

    file = forms.FileField(label="CSV file")
    mailing_lists = forms.ModelMultipleChoiceField(
        label="Subscribe them to",
        queryset=MailingList.objects.all(),
        widget=forms.CheckboxSelectMultiple,
    )
    consent_source = forms.CharField(
        label="Where did they agree?",
        max_length=255,
        validators=[validate_one_line],
        help_text="Stored with each person as proof of consent, e.g. 'Sign-up "
        "sheet at the March 2025 workshop'.",
    )
    confirm = forms.BooleanField(
        label="Everyone in this file agreed to receive these lists.",
        help_text="Suppressed addresses, and people who have unsubscribed from "
        "any list, are skipped.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            "UTF-8, with a header row. Columns: 'email' (required) and 'name' "
            "(optional); other columns are ignored. At most 5 MB and "
            f"{settings.NEWSLETTER_IMPORT_MAX_ROWS:,} rows; larger files can be "
            "split and imported one after another."
        )

    def clean_file(self) -> list[dict[str, str]]:
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise ValidationError("The file is larger than 5 MB; split it up.")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("Save the file as UTF-8 and try again.") from None
        try:
            return self._rows(csv.DictReader(io.StringIO(text, newline="")))
        except csv.Error as error:
            # A field too long for Python's csv module (its limit is 128 KB),
            # in the header as anywhere else.
            raise ValidationError(f"The file is not valid CSV: {error}.") from None

    def _rows(self, reader: csv.DictReader) -> list[dict[str, str]]:
        columns = {
            (name or "").strip().lower(): name for name in reader.fieldnames or []
        }
        email_column = columns.get("email") or columns.get("email address")
        if email_column is None:
            raise ValidationError("The first row must name an 'email' column.")
        name_column = columns.get("name")
        limit = settings.NEWSLETTER_IMPORT_MAX_ROWS
        rows = []
        for row in reader:
            if len(rows) == limit:
                raise ValidationError(
                    f"The file has more than {limit:,} rows; split it up and "
                    "import the parts one after another."
                )
            rows.append(
                {
                    "email": row.get(email_column) or "",
                    "name": (row.get(name_column) or "") if name_column else "",
                }
            )
        return rows
