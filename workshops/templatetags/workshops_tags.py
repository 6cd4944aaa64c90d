"""Session dates and times as people read them, and blocks that list sessions."""

from datetime import datetime

from django import template
from django.urls import reverse
from django.utils import dateformat

from workshops.ical import google_calendar_url
from workshops.models import ScheduleIndexPage, WorkshopSession
from workshops.selectors import upcoming_sessions as select_upcoming_sessions

register = template.Library()


def day_label(day) -> str:
    return dateformat.format(day, "l j F Y")


def time_label(moment: datetime) -> str:
    return dateformat.format(moment, "g:i A")


def utc_offset(moment: datetime) -> str:
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "−"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def zone_label(moment: datetime) -> str:
    """'EST (UTC−5)'; zones whose abbreviation is only a number show just UTC±h."""
    abbreviation = moment.tzname() or ""
    offset = utc_offset(moment)
    if not abbreviation or abbreviation[0] in "+-":
        return offset
    return f"{abbreviation} ({offset})"


@register.inclusion_tag("workshops/includes/session_when.html")
def session_when(session: WorkshopSession):
    """The day and time in the session's own zone, ready for the visitor's zone."""
    start, end = session.local_start, session.local_end
    day = day_label(session.date)
    if session.alternative_date:
        first, second = sorted([session.date, session.alternative_date])
        if (first.year, first.month) == (second.year, second.month):
            day = f"{dateformat.format(first, 'l j')} or {day_label(second)}"
        else:
            day = f"{day_label(first)} or {day_label(second)}"
    return {
        "session": session,
        "day": day,
        "times": None
        if session.time_to_be_announced
        else f"{time_label(start)}–{time_label(end)}",
        "zone": zone_label(start),
        "start_iso": start.isoformat(),
        "end_iso": end.isoformat(),
    }


@register.simple_tag(takes_context=True)
def session_calendar_urls(context, session: WorkshopSession) -> dict[str, str]:
    """The .ics download and the Google Calendar link for one session."""
    request = context.get("request")
    page_url = session.workshop.get_full_url(request)
    return {
        "ics": reverse("workshops:session_calendar", args=[session.pk]),
        "google": google_calendar_url(session, url=page_url),
    }


@register.inclusion_tag("workshops/tags/upcoming_sessions.html", takes_context=True)
def upcoming_sessions(context, count: int = 4, heading: str = ""):
    """The next sessions of every public workshop, with a link to the schedule."""
    return {
        "request": context.get("request"),
        "sessions": select_upcoming_sessions(limit=count),
        "heading": heading,
        "schedule": ScheduleIndexPage.objects.live().public().first(),
    }
