"""Reading the calendar part of an email as a mail client would."""

from email import message_from_bytes

from icalendar import Calendar


def calendar_part(message) -> tuple[str, Calendar]:
    """The iMIP part: the text/calendar alternative, with its MIME method."""
    parsed = message_from_bytes(message.message().as_bytes())
    for part in parsed.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_param("method"), Calendar.from_ical(
                part.get_payload(decode=True)
            )
    raise AssertionError("no text/calendar part")
