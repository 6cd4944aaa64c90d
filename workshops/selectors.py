"""Reads across workshops and sessions for pages, feeds, blocks and the admin."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from wagtail.models import Page

from home.selectors import public_pages, top_level_pages

from .models import (
    CertificateStatus,
    ScheduleIndexPage,
    SessionStatus,
    Ticket,
    TicketStatus,
    WorkshopPage,
    WorkshopSession,
    seat_holding_q,
)

# The feed keeps recent past sessions so calendars that subscribed see them
# marked completed or cancelled instead of vanishing, and looks ahead a year
# and a half: calendar apps poll it, so it stays the same size however many
# sessions were ever published.
FEED_HISTORY = timedelta(days=30)
FEED_HORIZON = timedelta(days=548)
FEED_MAX_SESSIONS = 300
SCHEDULE_MIN_MONTHS = 6
# The schedule shows this many upcoming sessions, then "later dates" on pages
# of the same size, so its size never grows with the calendar; a workshop's
# page shows its next few and points to the schedule for the rest.
SCHEDULE_PAGE_SESSIONS = 40
WORKSHOP_PAGE_SESSIONS = 12


def schedule_page(request=None) -> ScheduleIndexPage | Page | None:
    """The published schedule page, if there is one anyone may see.

    With a request, found among the site's top-level pages (read once per
    request for the menus) when it is one of them, as a plain page to link to.
    """
    schedule_type = ContentType.objects.get_for_model(ScheduleIndexPage)
    for page in top_level_pages(request):
        if page.content_type_id == schedule_type.pk:
            return page
    return public_pages(ScheduleIndexPage.objects.live()).first()


def public_workshops(*, under: Page | None = None) -> QuerySet[WorkshopPage]:
    """Workshop pages anyone may see."""
    workshops = public_pages(WorkshopPage.objects.live())
    if under is not None:
        workshops = workshops.descendant_of(under)
    return workshops


def with_seats_taken(
    sessions: QuerySet[WorkshopSession], *, now: datetime | None = None
) -> QuerySet[WorkshopSession]:
    """Count each session's sold and held seats in the same query."""
    return sessions.annotate(
        seats_taken=Count(
            "tickets", filter=seat_holding_q(now=now, prefix="tickets__"), distinct=True
        )
    )


def _seats_taken(*, now: datetime) -> Coalesce:
    """Each session's sold and held seats, counted for the rows a list returns.

    A count in a subquery rather than a join and GROUP BY: with a LIMIT the
    database counts only the sessions it returns, not every session to come.
    """
    holding = (
        Ticket.objects.filter(seat_holding_q(now=now), session=OuterRef("pk"))
        .order_by()
        .values("session")
        .annotate(count=Count("pk", distinct=True))
        .values("count")
    )
    return Coalesce(Subquery(holding[:1]), 0)


def sessions_with_sales(*, now: datetime, limit: int) -> QuerySet[WorkshopSession]:
    """Sessions not yet over, soonest first, with seats `sold` and `taken` counted."""
    return (
        WorkshopSession.objects.filter(ends_at__gt=now)
        .select_related("workshop")
        .annotate(
            sold=Count("tickets", filter=Q(tickets__status=TicketStatus.VALID)),
            taken=Count("tickets", filter=seat_holding_q(now=now, prefix="tickets__")),
        )
        .order_by("starts_at")[:limit]
    )


def has_sold_tickets(page: Page) -> bool:
    """Whether any session of this page, or of a page below it, sold a ticket."""
    return Ticket.objects.filter(session__workshop__path__startswith=page.path).exists()


def public_sessions(*, under: Page | None = None) -> QuerySet[WorkshopSession]:
    """Sessions of public workshop pages, with their workshop fetched alongside."""
    return WorkshopSession.objects.filter(
        workshop__in=public_workshops(under=under)
    ).select_related("workshop")


def upcoming_sessions(
    *,
    under: Page | None = None,
    workshop: WorkshopPage | None = None,
    now: datetime | None = None,
    limit: int | None = None,
    preview: bool = False,
) -> list[WorkshopSession]:
    """Sessions that have not ended, soonest first; cancelled ones stay listed."""
    now = now or timezone.now()
    if workshop is not None and preview:
        return _previewed_sessions(workshop, now=now, limit=limit)
    if workshop is not None:
        sessions = WorkshopSession.objects.filter(workshop=workshop)
    else:
        sessions = WorkshopSession.objects.filter(
            workshop__in=public_workshops(under=under)
        )
    sessions = (
        sessions.annotate(seats_taken=_seats_taken(now=now))
        .filter(ends_at__gte=now)
        .exclude(status=SessionStatus.COMPLETED)
        .order_by("starts_at", "pk")
    )
    if workshop is not None:
        return attach_workshops(
            list(sessions[:limit] if limit else sessions), {workshop.pk: workshop}
        )
    # Lists are short (a block, a page of the schedule): the workshops come in
    # the same query, bodies left out, then one object per page is kept.
    sessions = sessions.select_related("workshop").defer("workshop__body")
    return _one_object_per_workshop(list(sessions[:limit] if limit else sessions))


def _one_object_per_workshop(sessions: list[WorkshopSession]) -> list[WorkshopSession]:
    workshops: dict[int, WorkshopPage] = {}
    for session in sessions:
        session.workshop = workshops.setdefault(session.workshop_id, session.workshop)
    return sessions


def _previewed_sessions(
    workshop: WorkshopPage, *, now: datetime, limit: int | None
) -> list[WorkshopSession]:
    # A page preview holds unsaved sessions in memory, not in the database.
    sessions = sorted(
        (
            session
            for session in workshop.sessions.all()
            if session.local_end >= now and session.status != SessionStatus.COMPLETED
        ),
        key=lambda session: session.local_start,
    )
    return sessions[:limit] if limit else sessions


def feed_sessions(*, now: datetime | None = None) -> list[WorkshopSession]:
    """Public sessions from the recent past to the horizon, for the calendar feed."""
    now = now or timezone.now()
    sessions = WorkshopSession.objects.filter(
        workshop__in=public_workshops(),
        ends_at__gte=now - FEED_HISTORY,
        starts_at__lte=now + FEED_HORIZON,
    ).order_by("starts_at", "pk")[:FEED_MAX_SESSIONS]
    return attach_workshops(list(sessions))


@dataclass
class WorkshopDates:
    """The next dates of one workshop, and whether the schedule has more."""

    sessions: list[WorkshopSession]
    has_more: bool

    def __bool__(self) -> bool:
        return bool(self.sessions)

    def __iter__(self):
        return iter(self.sessions)


def workshop_dates(workshop: WorkshopPage, *, preview: bool = False) -> WorkshopDates:
    """A workshop's next WORKSHOP_PAGE_SESSIONS sessions, for its own page."""
    sessions = upcoming_sessions(
        workshop=workshop, preview=preview, limit=WORKSHOP_PAGE_SESSIONS + 1
    )
    return WorkshopDates(
        sessions=sessions[:WORKSHOP_PAGE_SESSIONS],
        has_more=len(sessions) > WORKSHOP_PAGE_SESSIONS,
    )


@dataclass
class SchedulePage:
    """One page of the schedule: its months, and whether later dates follow."""

    number: int
    years: list["ScheduleYear"]
    has_later: bool

    @property
    def later(self) -> int | None:
        return self.number + 1 if self.has_later else None

    @property
    def earlier(self) -> int | None:
        return self.number - 1 if self.number > 1 else None


def schedule_page_of(
    schedule: ScheduleIndexPage, *, number: int = 1, now: datetime | None = None
) -> SchedulePage:
    """The `number`th run of SCHEDULE_PAGE_SESSIONS upcoming sessions, by month.

    The first page starts this month and covers at least SCHEDULE_MIN_MONTHS,
    so months without workshops are explained; later pages start at their
    first session's month.
    """
    now = now or timezone.now()
    size = SCHEDULE_PAGE_SESSIONS
    start = (number - 1) * size
    sessions = upcoming_sessions(under=schedule, now=now, limit=start + size + 1)
    sessions = sessions[start:]
    has_later = len(sessions) > size
    sessions = sessions[:size]
    today = timezone.localdate(now)
    first = today if number == 1 or not sessions else sessions[0].date
    return SchedulePage(
        number=number,
        years=schedule_months(
            sessions=sessions,
            months_without_workshops=set(schedule.months_without_workshops),
            draft_years=set(schedule.draft_years),
            today=first,
            min_months=SCHEDULE_MIN_MONTHS if number == 1 else 1,
        )
        if number == 1 or sessions
        else [],
        has_later=has_later,
    )


def attach_workshops(
    sessions: list[WorkshopSession],
    workshops: dict[int, WorkshopPage] | None = None,
) -> list[WorkshopSession]:
    """Give each session its workshop page, one object per page, not per session.

    A join would build a page object, body and all, for every session row.
    """
    if workshops is None:
        ids = {session.workshop_id for session in sessions}
        workshops = WorkshopPage.objects.defer("body").in_bulk(ids)
    for session in sessions:
        session.workshop = workshops[session.workshop_id]
    return sessions


@dataclass
class ScheduleMonth:
    first_day: date
    sessions: list[WorkshopSession] = field(default_factory=list)
    no_workshops: bool = False


@dataclass
class ScheduleYear:
    year: int
    draft: bool
    months: list[ScheduleMonth] = field(default_factory=list)


def schedule_months(
    *,
    sessions: Iterable[WorkshopSession],
    months_without_workshops: set[int],
    draft_years: set[int],
    today: date,
    min_months: int = SCHEDULE_MIN_MONTHS,
) -> list[ScheduleYear]:
    """Every month from this one to the last with a session, grouped by year.

    Empty months stay in the list so the page can say why they are empty.
    """
    by_month: dict[date, list[WorkshopSession]] = {}
    for session in sessions:
        by_month.setdefault(session.month, []).append(session)
    first = today.replace(day=1)
    last = max([*by_month, add_months(first, min_months - 1)])
    years: list[ScheduleYear] = []
    month = first
    while month <= last:
        if not years or years[-1].year != month.year:
            years.append(ScheduleYear(year=month.year, draft=month.year in draft_years))
        years[-1].months.append(
            ScheduleMonth(
                first_day=month,
                sessions=by_month.get(month, []),
                no_workshops=month.month in months_without_workshops,
            )
        )
        month = add_months(month, 1)
    return years


def add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    return day.replace(year=day.year + index // 12, month=index % 12 + 1, day=1)


def session_attendees(session: WorkshopSession) -> list[Ticket]:
    """A session's valid tickets by name, each with its certificate if it has one."""
    return list(
        Ticket.objects.filter(session=session, status=TicketStatus.VALID)
        .select_related("certificate")
        .order_by("attendee_name", "pk")
    )


def recently_ended_sessions(
    *, now: datetime, since: timedelta, limit: int
) -> QuerySet[WorkshopSession]:
    """Sessions over within `since`, latest first, with attendance counted."""
    valid = Q(tickets__status=TicketStatus.VALID)
    return (
        WorkshopSession.objects.filter(ends_at__lte=now, ends_at__gt=now - since)
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("workshop")
        .annotate(
            attendees=Count("tickets", filter=valid),
            present=Count("tickets", filter=valid & Q(tickets__attended=True)),
            recorded=Count(
                "tickets", filter=valid & Q(tickets__attended__isnull=False)
            ),
            certified=Count(
                "tickets",
                filter=valid & Q(tickets__certificate__status=CertificateStatus.ISSUED),
            ),
        )
        .filter(attendees__gt=0)
        .order_by("-ends_at")[:limit]
    )


def ticket_other_dates(
    *, ticket: Ticket, now: datetime | None = None
) -> list[WorkshopSession]:
    """Dates a holder may move their own ticket to, at no cost: the same workshop's
    open sessions with a free seat. None once their own session has begun,
    unless it was cancelled."""
    now = now or timezone.now()
    session = ticket.session
    if ticket.status != TicketStatus.VALID or (
        session.local_start <= now and not session.is_cancelled
    ):
        return []
    others = (
        WorkshopSession.objects.filter(workshop_id=session.workshop_id)
        .exclude(pk=session.pk)
        .select_related("workshop")
        .order_by("date", "start_time", "pk")
    )
    return [other for other in others if other.is_bookable]
