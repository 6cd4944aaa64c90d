"""Session dates and times as people read them, and blocks that list sessions."""

from django import template
from django.urls import reverse

from workshops.formatting import session_day, session_when, time_label, zone_label
from workshops.ical import google_calendar_url
from workshops.models import WorkshopSession
from workshops.selectors import schedule_page
from workshops.selectors import upcoming_sessions as select_upcoming_sessions

register = template.Library()


@register.inclusion_tag("workshops/includes/session_when.html")
def session_when_block(session: WorkshopSession):
    """The day and time in the session's own zone, ready for the visitor's zone."""
    start, end = session.local_start, session.local_end
    return {
        "session": session,
        "day": session_day(session),
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
    request = context.get("request")
    return {
        "request": request,
        "sessions": select_upcoming_sessions(limit=count),
        "heading": heading,
        "schedule": schedule_page(request),
    }


@register.simple_tag
def session_time_in(session: WorkshopSession, zone: str = "") -> str:
    """One line of date and time, in `zone` (for emails: the buyer's zone)."""
    return session_when(session, zone or None)
