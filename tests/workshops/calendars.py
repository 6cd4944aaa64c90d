"""Reading the calendar part of an email as a mail client would."""

from email import message_from_bytes

from icalendar import Calendar


def parsed(message):
    """The message as it leaves the backend, parsed back as a mail client would."""
    return message_from_bytes(message.message().as_bytes())


def calendar_part(message) -> tuple[str, Calendar]:
    """The iMIP part: the text/calendar alternative, with its MIME method."""
    for part in parsed(message).walk():
        if part.get_content_type() == "text/calendar":
            return part.get_param("method"), Calendar.from_ical(
                part.get_payload(decode=True)
            )
    raise AssertionError("no text/calendar part")


def calendar_parts(message) -> list[tuple[str, Calendar]]:
    """Every part a calendar app might act on, text/calendar or .ics, typed."""
    return [
        (part.get_content_type(), Calendar.from_ical(part.get_payload(decode=True)))
        for part in parsed(message).walk()
        if part.get_content_type() in {"text/calendar", "application/ics"}
    ]


def mime_shape(message) -> list:
    """The MIME tree as nested content types, to compare with RFC 6047's shape."""

    def shape(part):
        if part.is_multipart():
            return [part.get_content_type(), [shape(sub) for sub in part.get_payload()]]
        return part.get_content_type()

    return shape(parsed(message))
