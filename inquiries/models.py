"""Inquiries: the request and contact pages, and what visitors send from them.

Both pages share `InquiryPage` (intro, thank-you text, help texts the editor
chooses for the form's fields); both records share `Inquiry` (who wrote, what
they wrote, the staff's notes). A group-training request also has a status, and
each change of it is a named method below the states.
"""

from dataclasses import dataclass
from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.search import index

from home.blocks import BaseStreamBlock
from home.models import BasePage

from .months import month_label

NAME_MAX_LENGTH = 150
EMAIL_MAX_LENGTH = 254
ORGANISATION_MAX_LENGTH = 200
MESSAGE_MAX_LENGTH = 5000
GROUP_SIZE_MIN = 1
GROUP_SIZE_MAX = 10_000
HELP_TEXT_MAX_LENGTH = 255


def help_text_field(label: str, default: str = "") -> models.CharField:
    return models.CharField(
        max_length=HELP_TEXT_MAX_LENGTH,
        blank=True,
        default=default,
        help_text=f"Shown under the form's '{label}' field. Leave empty for none.",
    )


class InquiryPage(BasePage):
    """A page with a form visitors send to staff; the form itself is fixed."""

    intro = StreamField(
        BaseStreamBlock(),
        blank=True,
        help_text="What readers see above the form: what to expect, what happens next.",
    )
    thank_you_text = RichTextField(
        blank=True,
        features=["bold", "italic", "link"],
        help_text="Shown instead of the form once it is sent. Leave empty for the "
        "standard wording.",
    )
    name_help_text = help_text_field("Your name")
    email_help_text = help_text_field(
        "Email address", "We reply to this address, and only about your message."
    )
    message_help_text = help_text_field("Message")

    # Each form field's help text, by the name of the page field that holds it.
    help_text_fields: ClassVar[dict[str, str]] = {
        "name": "name_help_text",
        "email": "email_help_text",
        "message": "message_help_text",
    }
    search_fields = [*BasePage.search_fields, index.SearchField("intro")]
    subpage_types: ClassVar[list[str]] = []

    class Meta:
        abstract = True

    def help_texts(self) -> dict[str, str]:
        return {
            field: getattr(self, attribute)
            for field, attribute in self.help_text_fields.items()
        }

    def serve(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Imported here: the views import the forms and services, which import
        # these models.
        from .views import serve_inquiry_page

        return serve_inquiry_page(request, page=self)


class GroupTrainingRequestPage(InquiryPage):
    """Where an organisation asks for a private workshop for its team."""

    organisation_help_text = help_text_field("Organisation")
    months_help_text = help_text_field(
        "Months that suit you", "Tick every month that could work."
    )
    time_zones_help_text = help_text_field(
        "Your team's time zones",
        "Where the people taking part will be. Type a city to find its zone.",
    )
    group_size_help_text = help_text_field(
        "Approximate group size", "A rough number is fine."
    )

    help_text_fields: ClassVar[dict[str, str]] = {
        "organisation": "organisation_help_text",
        "months": "months_help_text",
        "time_zones": "time_zones_help_text",
        "group_size": "group_size_help_text",
        **InquiryPage.help_text_fields,
    }
    content_panels = [
        *BasePage.content_panels,
        FieldPanel("intro"),
        MultiFieldPanel(
            [
                FieldPanel("organisation_help_text"),
                FieldPanel("name_help_text"),
                FieldPanel("email_help_text"),
                FieldPanel("months_help_text"),
                FieldPanel("time_zones_help_text"),
                FieldPanel("group_size_help_text"),
                FieldPanel("message_help_text"),
            ],
            heading="Help texts of the form's fields",
        ),
        FieldPanel("thank_you_text"),
    ]
    parent_page_types: ClassVar[list[str]] = ["home.HomePage", "home.ContentPage"]

    class Meta:
        verbose_name = "group-training request page"


class ContactPage(InquiryPage):
    """A general contact form: name, email and a message."""

    content_panels = [
        *BasePage.content_panels,
        FieldPanel("intro"),
        MultiFieldPanel(
            [
                FieldPanel("name_help_text"),
                FieldPanel("email_help_text"),
                FieldPanel("message_help_text"),
            ],
            heading="Help texts of the form's fields",
        ),
        FieldPanel("thank_you_text"),
    ]
    parent_page_types: ClassVar[list[str]] = ["home.HomePage", "home.ContentPage"]

    class Meta:
        verbose_name = "contact page"


class Inquiry(models.Model):
    """What every inquiry holds: who wrote, what they wrote, and staff notes."""

    name = models.CharField(max_length=NAME_MAX_LENGTH)
    email = models.EmailField(max_length=EMAIL_MAX_LENGTH)
    message = models.TextField(max_length=MESSAGE_MAX_LENGTH, blank=True)
    notes = models.TextField(
        blank=True,
        help_text="For staff only: calls, replies, what was agreed.",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]


class RequestStatus(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    SCHEDULED = "scheduled", "Scheduled"
    CLOSED = "closed", "Closed"


# Requests still being planned for: the ones the at-a-glance chart counts.
OPEN_STATUSES = (RequestStatus.NEW, RequestStatus.CONTACTED)


class StatusChangeError(ValidationError):
    """A status change the request's current status does not allow."""


class GroupTrainingRequest(Inquiry):
    """An organisation's request for a private workshop."""

    organisation = models.CharField(max_length=ORGANISATION_MAX_LENGTH)
    months = models.JSONField(
        default=list, help_text='Months asked for, as "YYYY-MM", in order.'
    )
    time_zones = models.JSONField(
        default=list, help_text="IANA time zones of the team, as chosen."
    )
    group_size = models.PositiveIntegerField()
    status = models.CharField(
        max_length=20,
        choices=RequestStatus.choices,
        default=RequestStatus.NEW,
        db_index=True,
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta(Inquiry.Meta):
        verbose_name = "group-training request"

    def __str__(self) -> str:
        return f"{self.organisation} ({self.created_at:%d %b %Y})"

    def months_display(self) -> str:
        return ", ".join(month_label(key) for key in self.months)

    months_display.short_description = "Months"

    def time_zones_display(self) -> str:
        return ", ".join(self.time_zones)

    time_zones_display.short_description = "Time zones"

    # The status changes, each named once in STATUS_ACTIONS below. Callers go
    # through `services.group_training_request_change_status`, which locks and logs.
    def mark_contacted(self) -> None:
        """Staff have written back or called."""
        self._apply(STATUS_ACTIONS["contacted"])

    def mark_scheduled(self) -> None:
        """A date is agreed."""
        self._apply(STATUS_ACTIONS["scheduled"])

    def close(self) -> None:
        """Nothing more to do: held, declined or gone quiet."""
        self._apply(STATUS_ACTIONS["close"])

    def reopen(self) -> None:
        """A closed request is being planned for again."""
        self._apply(STATUS_ACTIONS["reopen"])

    def allowed_actions(self) -> list["StatusAction"]:
        return [
            action
            for action in STATUS_ACTIONS.values()
            if self.status in action.allowed_from
        ]

    def _apply(self, action: "StatusAction") -> None:
        if self.status not in action.allowed_from:
            raise StatusChangeError(
                f"A request that is {self.get_status_display().lower()} cannot "
                f"become {RequestStatus(action.to).label.lower()}."
            )
        self.status = action.to
        self.status_changed_at = timezone.now()


@dataclass(frozen=True)
class StatusAction:
    """One change of a request's status: its method, its button, its log entry."""

    slug: str
    method: str
    label: str
    to: str
    allowed_from: tuple[str, ...]

    @property
    def log_action(self) -> str:
        return f"inquiries.request.{self.slug}"


STATUS_ACTIONS = {
    action.slug: action
    for action in (
        StatusAction(
            "contacted",
            "mark_contacted",
            "Mark as contacted",
            RequestStatus.CONTACTED,
            (RequestStatus.NEW,),
        ),
        StatusAction(
            "scheduled",
            "mark_scheduled",
            "Mark as scheduled",
            RequestStatus.SCHEDULED,
            OPEN_STATUSES,
        ),
        StatusAction(
            "close",
            "close",
            "Close",
            RequestStatus.CLOSED,
            (*OPEN_STATUSES, RequestStatus.SCHEDULED),
        ),
        StatusAction(
            "reopen",
            "reopen",
            "Reopen",
            RequestStatus.CONTACTED,
            (RequestStatus.CLOSED,),
        ),
    )
}


class ContactMessage(Inquiry):
    """A message sent from a contact page."""

    class Meta(Inquiry.Meta):
        verbose_name = "contact message"

    def __str__(self) -> str:
        return f"{self.name} ({self.created_at:%d %b %Y})"
