"""Calendar files for sessions: pure functions from sessions to iCalendar bytes.

Privacy: only what the public page shows goes into public files; the meeting
link goes only into a ticket holder's own copy, and staff notes never. There is
no ORGANIZER, so calendar apps send no acceptance replies to anyone (as pretix
does for its public files). Only `session_imip`, mailed to one ticket holder with
their ticket and whenever their session changes, names an ORGANIZER and the
holder as ATTENDEE (docs/notices.md).

Identity: each session's UID never changes and its SEQUENCE rises with every
change calendar apps must apply, so a later file updates the same entry instead
of adding a second one (RFC 5545 and RFC 5546).
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from icalendar import Calendar, Event, vCalAddress

from .formatting import day_label
from .models import WorkshopSession

PRODID = "-//Workshops site//Sessions//EN"
FEED_REFRESH = timedelta(hours=1)


def session_filename(session: WorkshopSession) -> str:
    """The name a session's calendar file is saved under."""
    return f"{session.workshop.slug}-{session.date:%Y-%m-%d}.ics"


def session_event(
    session: WorkshopSession, *, url: str, meeting_url: str = ""
) -> Event:
    """The VEVENT for one session; `meeting_url` only in a ticket holder's copy."""
    workshop = session.workshop
    if session.time_to_be_announced:
        # A day whose time is not known yet: an all-day, tentative entry.
        start: date = session.date
        end: date = session.date + timedelta(days=1)
    else:
        start, end = session.local_start, session.local_end
    return Event.new(
        uid=session.calendar_uid,
        sequence=session.sequence,
        stamp=session.updated_at,
        last_modified=session.updated_at,
        start=start,
        end=end,
        summary=event_summary(session),
        description=event_description(session, url=url, meeting_url=meeting_url),
        location=(meeting_url if not session.is_cancelled else "")
        or (f"Online ({workshop.platform})" if workshop.platform else "Online"),
        url=url,
        status=event_status(session),
    )


def event_status(session: WorkshopSession) -> str:
    if session.is_cancelled:
        return "CANCELLED"
    return "TENTATIVE" if session.is_tentative else "CONFIRMED"


def event_summary(session: WorkshopSession) -> str:
    summary = session.workshop.title
    if session.audience_label:
        summary += f" ({session.audience_label})"
    if session.is_cancelled:
        summary = f"Cancelled: {summary}"
    return summary


def event_description(
    session: WorkshopSession, *, url: str, meeting_url: str = ""
) -> str:
    lines = [session.workshop.summary.strip(), ""]
    if meeting_url and not session.is_cancelled:
        lines.append(f"Join: {meeting_url}")
    if session.is_cancelled:
        lines.insert(0, "This session has been cancelled.\n")
    if session.time_to_be_announced:
        lines.append("The time is to be announced.")
    if session.alternative_date:
        lines.append(
            "The date is not settled: it may move to "
            f"{day_label(session.alternative_date)}."
        )
    lines.append(f"Details and tickets: {url}")
    return "\n".join(lines).strip()


def calendar_for(
    events: Iterable[Event],
    *,
    method: str,
    name: str | None = None,
    refresh_interval: timedelta | None = None,
) -> Calendar:
    calendar = Calendar.new(
        prodid=PRODID, method=method, name=name, refresh_interval=refresh_interval
    )
    # Calendar.new invents a random calendar UID; leaving it would change the
    # bytes, and so the ETag, on every request.
    del calendar["UID"]
    dates = []
    for event in events:
        calendar.add_component(event)
        dates.append(_as_date(event.start))
    if dates:
        first, last = min(dates), max(dates)
        # Only the transitions around the sessions: a short VTIMEZONE is enough
        # for every client and keeps the feed small.
        calendar.add_missing_timezones(
            first_date=first - timedelta(days=366), last_date=last + timedelta(days=366)
        )
    return calendar


def session_ics(
    session: WorkshopSession,
    *,
    url: str,
    method: str = "PUBLISH",
    meeting_url: str = "",
) -> bytes:
    """A calendar file with one session, for download or an email attachment.

    Pass `meeting_url` only for a ticket holder: it is the private joining link.
    """
    event = session_event(session, url=url, meeting_url=meeting_url)
    return calendar_for([event], method=method).to_ical()


def session_imip(
    session: WorkshopSession,
    *,
    method: str,
    url: str,
    organizer: tuple[str, str],
    attendee: tuple[str, str],
    stamp: datetime,
    meeting_url: str = "",
) -> bytes:
    """An iTIP message for one ticket holder (RFC 5546), to be mailed as iMIP.

    METHOD:REQUEST updates the entry with the session's UID in their calendar;
    METHOD:CANCEL withdraws it. Unlike the public files this names an ORGANIZER
    (the site's contact address: RFC 5546 requires one, and clients only apply
    updates that come from an organizer) and the holder as ATTENDEE with
    RSVP=FALSE, so no client asks them to reply. `organizer` and `attendee` are
    (name, email) pairs.
    """
    if method not in {"REQUEST", "CANCEL"}:
        raise ValueError(f"Not an iTIP method we send: {method}")
    cancelling = method == "CANCEL"
    event = session_event(
        session, url=url, meeting_url="" if cancelling else meeting_url
    )
    # The moment this message is made (RFC 5546 3.2): clients order messages of
    # one SEQUENCE by it.
    event.DTSTAMP = stamp
    organizer_name, organizer_email = organizer
    event.add(
        "ORGANIZER",
        vCalAddress(f"mailto:{organizer_email}"),
        parameters={"CN": organizer_name} if organizer_name else None,
    )
    name, email = attendee
    event.add(
        "ATTENDEE",
        vCalAddress(f"mailto:{email}"),
        parameters={
            "CN": name,
            "ROLE": "REQ-PARTICIPANT",
            "PARTSTAT": "ACCEPTED",
            "RSVP": "FALSE",
        },
    )
    if cancelling:
        event["STATUS"] = "CANCELLED"
    return calendar_for([event], method=method).to_ical()


def sessions_ics(
    sessions: Iterable[tuple[WorkshopSession, str]], *, name: str
) -> bytes:
    """The subscribable feed: every (session, page URL) pair given."""
    events = [session_event(session, url=url) for session, url in sessions]
    return calendar_for(
        events, method="PUBLISH", name=name, refresh_interval=FEED_REFRESH
    ).to_ical()


def google_calendar_url(session: WorkshopSession, *, url: str) -> str:
    """A link that opens Google Calendar's form with the session filled in."""
    if session.time_to_be_announced:
        dates = f"{session.date:%Y%m%d}/{session.date + timedelta(days=1):%Y%m%d}"
    else:
        dates = f"{session.local_start:%Y%m%dT%H%M%S}/{session.local_end:%Y%m%dT%H%M%S}"
    query = {
        "action": "TEMPLATE",
        "text": event_summary(session),
        "dates": dates,
        "ctz": session.time_zone,
        "details": event_description(session, url=url),
        "location": "Online",
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(query)


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value
