"""Which new workshop dates suit a subscriber, and how their email lists them.

Pure: sessions and a person's zone and hours in, a list or text out. Used when
an editor counts the recipients of an announcement and, per recipient, by the
sending pipeline (sending/messages.py) as it fills in their copy.
"""

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.template.loader import render_to_string

from workshops.formatting import session_when
from workshops.models import WorkshopSession

# The parts of an announcement that differ per recipient, beside the greeting
# and links every newsletter email has (rendering.PERSONAL_FIELDS).
ANNOUNCEMENT_FIELDS = ("dates_html", "dates_text")
DAY = 24 * 60


@dataclass(frozen=True)
class Availability:
    """When a subscriber can attend: a zone, and hours of their day (or any)."""

    time_zone: str = ""
    attend_from: int | None = None
    attend_until: int | None = None

    @property
    def has_hours(self) -> bool:
        return self.attend_from is not None and self.attend_until is not None

    @property
    def zone(self) -> zoneinfo.ZoneInfo | None:
        try:
            return zoneinfo.ZoneInfo(self.time_zone) if self.time_zone else None
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return None


def _minutes(moment: datetime, day_start: datetime) -> int:
    return int((moment - day_start).total_seconds() // 60)


def fits(session: WorkshopSession, availability: Availability) -> bool:
    """Whether the session runs inside the person's hours, in their own zone.

    No hours, or a session whose time is still to be announced: it fits (they
    can judge it themselves). A window may run past midnight (22 to 2).
    """
    if not availability.has_hours or session.time_to_be_announced:
        return True
    zone = availability.zone or session.zone
    start = session.local_start.astimezone(zone)
    end = session.local_end.astimezone(zone)
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    begins, ends = _minutes(start, midnight), _minutes(end, midnight)
    opens, closes = availability.attend_from * 60, availability.attend_until * 60
    if closes <= opens:
        closes += DAY
    # The window that opened the day before may hold an early-morning session.
    return any(opens <= begins + shift and ends + shift <= closes for shift in (0, DAY))


def suiting(
    sessions: Iterable[WorkshopSession], availability: Availability
) -> list[WorkshopSession]:
    return [session for session in sessions if fits(session, availability)]


@dataclass(frozen=True)
class DateLine:
    """One new date as a person reads it: in their zone, and in the session's."""

    session: WorkshopSession
    yours: str
    taught: str
    url: str


def date_lines(
    sessions: Sequence[WorkshopSession], availability: Availability
) -> list[DateLine]:
    zone = availability.time_zone if availability.zone else ""
    return [
        DateLine(
            session=session,
            yours=session_when(session, zone or None),
            taught=session_when(session) if zone and zone != session.time_zone else "",
            url=session.workshop.full_url or "",
        )
        for session in sessions
    ]


def dates_values(
    sessions: Sequence[WorkshopSession], availability: Availability
) -> dict[str, str]:
    """The list of dates for one recipient's copy, as HTML and as text."""
    context = {
        "lines": date_lines(suiting(sessions, availability), availability),
        "zone": availability.time_zone if availability.zone else "",
    }
    return {
        "dates_html": render_to_string("newsletter/email/dates_list.html", context),
        "dates_text": render_to_string("newsletter/email/dates_list.txt", context),
    }


def hours_label(availability: Availability) -> str:
    """'9:00 to 17:00 (Europe/London)' for staff and the person's own page."""
    if not availability.has_hours:
        return ""
    label = f"{availability.attend_from}:00 to {availability.attend_until}:00"
    return label + (f" ({availability.time_zone})" if availability.time_zone else "")
