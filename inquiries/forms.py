"""The public forms: a group-training request and a general message.

Both extend `InquiryForm` (name, email, message, the honeypot) and take their
help texts from the page the editor set up. `submit` hands the cleaned data to
the one service that stores and mails it.
"""

import re
import zoneinfo
from datetime import date
from functools import cache

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from home.forms import PublicForm, validate_one_line

from . import services
from .models import (
    EMAIL_MAX_LENGTH,
    GROUP_SIZE_MAX,
    GROUP_SIZE_MIN,
    MESSAGE_MAX_LENGTH,
    NAME_MAX_LENGTH,
    ORGANISATION_MAX_LENGTH,
    ContactMessage,
    GroupTrainingRequest,
    InquiryPage,
)
from .months import coming_months, month_key

HONEYPOT_FIELD = "website"
# The start of a tag: "<script", "</a", "<!--". A lone "<" ("fewer than <10")
# is fine.
MARKUP = re.compile(r"<\s*[/!?]?\s*[a-z]", re.IGNORECASE)
# The start of an RFC 2047 encoded word, which mail clients decode in headers.
ENCODED_WORD = "=?"


def validate_header_safe(value: str) -> None:
    """One line, and no "=?", which mail clients decode in a header."""
    validate_one_line(value)
    if ENCODED_WORD in value:
        raise ValidationError("This field cannot contain “=?”.")


def validate_plain_text(value: str) -> None:
    if MARKUP.search(value):
        raise ValidationError(
            "Write plain text, without HTML tags such as <script> or <a>."
        )


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA zone Python knows, sorted, as (value, label)."""
    return [(zone, zone) for zone in sorted(zoneinfo.available_timezones())]


def too_long(what: str) -> str:
    return (
        f"Keep {what} to %(limit_value)d characters or fewer (it has %(show_value)d)."
    )


class InquiryForm(PublicForm):
    """Who is writing and what they say; the fields every inquiry has."""

    name = forms.CharField(
        label="Your name",
        max_length=NAME_MAX_LENGTH,
        validators=[validate_header_safe, validate_plain_text],
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={
            "required": "Enter your name.",
            "max_length": too_long("your name"),
        },
    )
    email = forms.EmailField(
        label="Email address",
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Enter your email address.",
            "invalid": "Enter an email address like name@example.com.",
            "max_length": too_long("the address"),
        },
    )
    message = forms.CharField(
        label="Message",
        max_length=MESSAGE_MAX_LENGTH,
        validators=[validate_plain_text],
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={
            "required": "Write your message.",
            "max_length": too_long("the message"),
        },
    )
    # A field people never see: software that fills in every input fills this.
    website = forms.CharField(label="Leave this field empty", required=False)

    def __init__(
        self,
        *args,
        help_texts: dict[str, str] | None = None,
        today: date | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()
        for name, text in (help_texts or {}).items():
            if name in self.fields:
                self.fields[name].help_text = text

    def clean_website(self) -> str:
        if self.cleaned_data["website"]:
            raise ValidationError(
                "The form arrived with a hidden anti-spam field filled in, so "
                "nothing was sent. If you filled in the form yourself, please "
                "send it again."
            )
        return ""

    def clean(self):
        cleaned = super().clean()
        for name, value in cleaned.items():
            if isinstance(value, str):
                cleaned[name] = value.strip()
        return cleaned

    @property
    def shown_fields(self) -> list[forms.BoundField]:
        """The fields people fill in: all but the honeypot."""
        return [field for field in self if field.name != HONEYPOT_FIELD]

    def submit(self, *, page: InquiryPage | None):
        raise NotImplementedError


class GroupTrainingRequestForm(InquiryForm):
    """An organisation asks for a private workshop: when, where, how many."""

    organisation = forms.CharField(
        label="Organisation",
        max_length=ORGANISATION_MAX_LENGTH,
        validators=[validate_header_safe, validate_plain_text],
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
        error_messages={
            "required": "Enter your organisation's name.",
            "max_length": too_long("the organisation's name"),
        },
    )
    months = forms.MultipleChoiceField(
        label="Months that suit you",
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one month.",
            "invalid_choice": "Choose from the coming twelve months: "
            "%(value)s has passed or is more than a year away.",
        },
    )
    time_zones = forms.MultipleChoiceField(
        label="Your team's time zones",
        widget=forms.SelectMultiple(attrs={"size": 8}),
        error_messages={
            "required": "Choose at least one time zone.",
            "invalid_choice": "“%(value)s” is not a time zone we know: choose "
            "zones from the list.",
        },
    )
    group_size = forms.IntegerField(
        label="Approximate group size",
        min_value=GROUP_SIZE_MIN,
        max_value=GROUP_SIZE_MAX,
        error_messages={
            "required": "Say roughly how many people would take part.",
            "invalid": "Enter the number of people as a whole number, like 12.",
            "min_value": "A group has at least %(limit_value)s person.",
            "max_value": "We can plan for up to %(limit_value)s people; for "
            "more, say so in your message.",
        },
    )
    field_order = [
        "organisation",
        "name",
        "email",
        "months",
        "time_zones",
        "group_size",
        "message",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].label = "Contact name"
        self.fields["message"].required = False
        self.fields["message"].label = "Message (optional)"
        self.fields["months"].choices = [
            (month_key(month), month.strftime("%B %Y"))
            for month in coming_months(today=self.today)
        ]
        self.fields["time_zones"].choices = time_zone_choices()

    def submit(self, *, page: InquiryPage | None) -> GroupTrainingRequest:
        data = self.cleaned_data
        return services.group_training_request_create(
            organisation=data["organisation"],
            name=data["name"],
            email=data["email"],
            months=sorted(set(data["months"])),
            time_zones=sorted(set(data["time_zones"])),
            group_size=data["group_size"],
            message=data["message"],
            page=page,
        )


class ContactForm(InquiryForm):
    """A name, an address and a message."""

    def submit(self, *, page: InquiryPage | None) -> ContactMessage:
        data = self.cleaned_data
        return services.contact_message_create(
            name=data["name"], email=data["email"], message=data["message"], page=page
        )
