"""Workshop pages, their sessions (dates) and the schedule page that lists them."""

import uuid
import zoneinfo
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import SimpleLazyObject, cached_property
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.fields import StreamField
from wagtail.search import index

from home.models import BasePage

from ..blocks import WorkshopStreamBlock
from ..forms import ScheduleIndexPageForm
from ..forms_notices import WorkshopPageNoticeForm
from .tickets import Ticket

DEFAULT_TIME_ZONE = "America/New_York"


@cache
def available_time_zones() -> frozenset[str]:
    # zoneinfo walks the tz database's files on every call: once is enough.
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in available_time_zones():
        raise ValidationError(
            "“%(value)s” is not a time zone we know. Use an IANA name such as "
            "America/New_York, Europe/London or Australia/Sydney.",
            params={"value": value},
        )


def new_calendar_uid() -> str:
    return f"{uuid.uuid4()}@workshop-sessions"


class ScheduleIndexPage(BasePage):
    """The schedule: every upcoming session of the workshops below it, by month."""

    introduction = models.TextField(
        max_length=600,
        blank=True,
        help_text="A few sentences above the dates: how sessions run, how to book.",
    )
    months_without_workshops = models.JSONField(
        default=list,
        blank=True,
        help_text="Months in which you never run workshops; the schedule says so "
        "plainly instead of leaving a gap.",
    )
    draft_years = models.JSONField(
        default=list,
        blank=True,
        help_text="Years whose dates are not settled yet; the schedule marks them "
        "as a draft.",
    )

    content_panels = [
        *BasePage.content_panels,
        FieldPanel("introduction"),
        MultiFieldPanel(
            [FieldPanel("months_without_workshops"), FieldPanel("draft_years")],
            heading="How the schedule reads",
        ),
    ]
    search_fields = [*BasePage.search_fields, index.SearchField("introduction")]

    base_form_class = ScheduleIndexPageForm
    parent_page_types = ["home.HomePage"]
    subpage_types = ["workshops.WorkshopPage"]
    max_count = 1

    class Meta:
        verbose_name = "schedule page"

    def get_context(self, request, *args, **kwargs):
        # selectors import this module's models: imported at the top, they would
        # run while Django's app registry is still loading them. Hence here.
        from ..selectors import schedule_page_of

        context = super().get_context(request, *args, **kwargs)
        try:
            # Pages past the last say so; a thousand is more than any calendar.
            number = min(max(int(request.GET.get("page", 1)), 1), 1000)
        except ValueError:
            number = 1
        context["schedule_number"] = number
        # Lazy: a cached fragment of the template may never ask for it.
        context["schedule"] = SimpleLazyObject(
            lambda: schedule_page_of(self, number=number)
        )
        return context


class WorkshopPage(BasePage):
    """One workshop: what it teaches, how it runs, and its dates."""

    summary = models.TextField(
        max_length=600,
        help_text="Two or three sentences: who it is for and what they leave with. "
        "Shown on the schedule and in search results.",
    )
    body = StreamField(
        WorkshopStreamBlock(),
        blank=True,
        help_text="What you will learn, what is covered, practice scenarios, FAQ and "
        "testimonials, in the order readers should see them.",
    )
    duration_minutes = models.PositiveSmallIntegerField(
        "run time (minutes)",
        default=210,
        validators=[MinValueValidator(15)],
        help_text="The usual length of a session, breaks included. A session can "
        "set its own end time.",
    )
    breaks = models.CharField(
        max_length=200,
        blank=True,
        help_text="For example 'Two 10-minute breaks'.",
    )
    platform = models.CharField(
        "video call platform",
        max_length=100,
        default="Zoom",
        help_text="Where it happens. The private link itself is set per session.",
    )
    capacity = models.PositiveSmallIntegerField(
        default=20,
        validators=[MinValueValidator(1)],
        help_text="Seats in each session, unless a session sets its own.",
    )
    price = models.DecimalField(
        "price (USD)",
        max_digits=8,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="The price of one seat, shown on the page.",
    )
    # Read once by the publish that sends a date-change notice, then cleared; the
    # edit form always starts it empty (forms_notices), so no old message returns.
    notice_message = models.TextField(
        "message to ticket holders",
        blank=True,
        help_text="Optional. Sent with the date-change email if this publish moves "
        "or cancels a session that has tickets; nothing is sent otherwise.",
    )

    content_panels = [
        *BasePage.content_panels,
        FieldPanel("summary"),
        FieldPanel("body"),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("duration_minutes"), FieldPanel("breaks")]),
                FieldRowPanel([FieldPanel("platform"), FieldPanel("capacity")]),
                FieldPanel("price"),
            ],
            heading="Logistics and price",
        ),
        InlinePanel("sessions", heading="Sessions (dates)", label="Session"),
        FieldPanel("notice_message"),
    ]
    # Only public text is indexed: sessions carry private links and notes.
    search_fields = [
        *BasePage.search_fields,
        index.SearchField("summary"),
        index.SearchField("body"),
    ]

    base_form_class = WorkshopPageNoticeForm
    parent_page_types = ["workshops.ScheduleIndexPage"]
    subpage_types: list[str] = []
    # A copy starts without dates: copied sessions would share calendar UIDs.
    exclude_fields_in_copy = ["sessions", "notice_message"]

    class Meta:
        verbose_name = "workshop page"

    def get_context(self, request, *args, **kwargs):
        # Imported here for the same reason as in ScheduleIndexPage.get_context.
        from ..selectors import workshop_dates

        context = super().get_context(request, *args, **kwargs)
        preview = getattr(request, "is_preview", False)
        # Lazy, as on the schedule: the dates may come from a cached fragment.
        context["upcoming_sessions"] = SimpleLazyObject(
            lambda: workshop_dates(self, preview=preview)
        )
        return context


class SessionStatus(models.TextChoices):
    TENTATIVE = "tentative", "Tentative"
    SCHEDULED = "scheduled", "Scheduled"
    SOLD_OUT = "sold_out", "Sold out"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"


class WorkshopSession(models.Model):
    """One date of a workshop, in the time zone it is taught in."""

    workshop = ParentalKey(
        WorkshopPage, on_delete=models.CASCADE, related_name="sessions"
    )
    date = models.DateField(help_text="The day, in the session's time zone.")
    start_time = models.TimeField(
        null=True,
        blank=True,
        help_text="Leave empty while the time is to be announced.",
    )
    end_time = models.TimeField(
        null=True,
        blank=True,
        help_text="Empty means start time plus the workshop's run time. Sessions "
        "end on the day they start.",
    )
    time_zone = models.CharField(
        max_length=64,
        default=DEFAULT_TIME_ZONE,
        validators=[validate_time_zone],
        help_text="IANA name of the zone the times are in, e.g. Australia/Sydney.",
    )
    alternative_date = models.DateField(
        null=True,
        blank=True,
        help_text="While two dates are possible ('12 or 19 March'), the other one.",
    )
    audience_label = models.CharField(
        max_length=60,
        blank=True,
        help_text="For whom the time suits, e.g. 'Australian time'.",
    )
    capacity = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Seats in this session; empty uses the workshop's capacity.",
    )
    status = models.CharField(
        max_length=20,
        choices=SessionStatus.choices,
        default=SessionStatus.SCHEDULED,
    )
    meeting_url = models.URLField(
        "meeting link",
        blank=True,
        help_text="Private: sent only to ticket holders, never shown on the site.",
    )
    private_notes = models.TextField(
        blank=True,
        help_text="Private: for staff only, never shown on the site.",
    )
    # Derived from the local fields above, in UTC, so sessions sort and filter in
    # the database. TBD sessions span their whole local day.
    starts_at = models.DateTimeField(editable=False, db_index=True)
    ends_at = models.DateTimeField(editable=False)
    # The calendar identity: the UID never changes, SEQUENCE rises with each
    # change that calendar apps must apply (RFC 5545).
    calendar_uid = models.CharField(
        max_length=100, unique=True, default=new_calendar_uid, editable=False
    )
    sequence = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    panels = [
        FieldRowPanel(
            [FieldPanel("date"), FieldPanel("start_time"), FieldPanel("end_time")]
        ),
        FieldRowPanel([FieldPanel("time_zone"), FieldPanel("audience_label")]),
        FieldRowPanel(
            [
                FieldPanel("status"),
                FieldPanel("capacity"),
                FieldPanel("alternative_date"),
            ]
        ),
        FieldPanel("meeting_url"),
        FieldPanel("private_notes"),
    ]

    class Meta:
        ordering = ["starts_at", "pk"]
        verbose_name = "session"

    def __str__(self) -> str:
        return f"{self.workshop.title if self.workshop_id else 'Workshop'}, {self.date}"

    def save(self, *args, **kwargs):
        self.starts_at, self.ends_at = self.local_start, self.local_end
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors = {}
        if self.end_time and not self.start_time:
            errors["end_time"] = "Set a start time first, or leave both empty (TBD)."
        elif self.start_time and self.end_time and self.end_time <= self.start_time:
            errors["end_time"] = (
                "The session ends before it starts. Sessions end on the day they "
                "start; check the times and the time zone."
            )
        if self.alternative_date and self.alternative_date == self.date:
            errors["alternative_date"] = "The alternative is the same as the date."
        if errors:
            raise ValidationError(errors)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def time_to_be_announced(self) -> bool:
        return self.start_time is None

    @property
    def local_start(self) -> datetime:
        """When it starts in its own zone; midnight of the day when TBD."""
        return datetime.combine(self.date, self.start_time or time(0), self.zone)

    @property
    def local_end(self) -> datetime:
        if self.start_time is None:
            return datetime.combine(self.date + timedelta(days=1), time(0), self.zone)
        if self.end_time is not None:
            return datetime.combine(self.date, self.end_time, self.zone)
        minutes = self.workshop.duration_minutes if self.workshop_id else 210
        return self.local_start + timedelta(minutes=minutes)

    @property
    def effective_capacity(self) -> int:
        return self.capacity if self.capacity is not None else self.workshop.capacity

    @cached_property
    def seats_taken(self) -> int:
        """Seats sold or held; lists annotate it in one query (selectors)."""
        if self.pk is None:
            return 0
        return Ticket.objects.filter(session=self).holding_seats().count()

    @property
    def seats_left(self) -> int:
        return max(self.effective_capacity - self.seats_taken, 0)

    @property
    def is_sold_out(self) -> bool:
        return self.status == SessionStatus.SOLD_OUT or self.seats_left == 0

    @property
    def is_bookable(self) -> bool:
        """Open for sale: scheduled or tentative, not begun, with a seat left."""
        return (
            self.status in {SessionStatus.SCHEDULED, SessionStatus.TENTATIVE}
            and self.local_start > timezone.now()
            and not self.is_sold_out
        )

    @property
    def offers_waitlist(self) -> bool:
        """Sold out but still to come: 'tell me if a seat frees up'."""
        open_statuses = {
            SessionStatus.SCHEDULED,
            SessionStatus.TENTATIVE,
            SessionStatus.SOLD_OUT,
        }
        return (
            self.status in open_statuses
            and self.is_sold_out
            and self.local_start > timezone.now()
        )

    @property
    def is_cancelled(self) -> bool:
        return self.status == SessionStatus.CANCELLED

    def has_ended(self, *, now: datetime | None = None) -> bool:
        """Taught and over: its end has passed and it was not cancelled."""
        return not self.is_cancelled and self.ends_at <= (now or timezone.now())

    @property
    def length_minutes(self) -> int:
        """How long it runs, breaks included: what a certificate counts as hours."""
        if self.time_to_be_announced:
            return self.workshop.duration_minutes
        return int((self.local_end - self.local_start).total_seconds() // 60)

    @property
    def is_tentative(self) -> bool:
        return (
            self.status == SessionStatus.TENTATIVE
            or self.time_to_be_announced
            or self.alternative_date is not None
        )

    @property
    def month(self) -> date:
        return self.date.replace(day=1)
