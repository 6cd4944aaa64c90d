"""Session dates and times as people read them, in any time zone."""

import zoneinfo
from datetime import date, datetime

from django.utils import dateformat

from .models import WorkshopSession


def day_label(day: date) -> str:
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


def session_day(session: WorkshopSession) -> str:
    """'Thursday 12 March 2027', or 'Thursday 12 or Thursday 19 March 2027'."""
    if not session.alternative_date:
        return day_label(session.date)
    first, second = sorted([session.date, session.alternative_date])
    if (first.year, first.month) == (second.year, second.month):
        return f"{dateformat.format(first, 'l j')} or {day_label(second)}"
    return f"{day_label(first)} or {day_label(second)}"


def session_when(session: WorkshopSession, zone: str | None = None) -> str:
    """The whole date and time in one line, in `zone` (default: the session's)."""
    if session.time_to_be_announced:
        return f"{session_day(session)}, time to be announced"
    start, end = session.local_start, session.local_end
    if zone and zone != session.time_zone:
        tz = zoneinfo.ZoneInfo(zone)
        start, end = start.astimezone(tz), end.astimezone(tz)
        day = day_label(start.date())
        if end.date() != start.date():
            return (
                f"{day}, {time_label(start)} – {day_label(end.date())}, "
                f"{time_label(end)} {zone_label(start)}"
            )
    else:
        day = session_day(session)
    return f"{day}, {time_label(start)}–{time_label(end)} {zone_label(start)}"
