"""What buyers and attendees are sent: receipts, tickets, with calendar entries."""

from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from home.email import Attachment, send_templated_email

from ..ical import session_filename, session_ics
from ..models import Order, Ticket, WorkshopSession


def absolute(path: str) -> str:
    """A path on this site as a full address, for emails and Stripe."""
    return settings.BASE_URL + path


def ticket_url(ticket: Ticket) -> str:
    """The full address of a ticket's private page."""
    return absolute(reverse("workshops:ticket", args=[ticket.token]))


def order_url(order: Order) -> str:
    """The full address of an order's private page."""
    return absolute(reverse("workshops:order", args=[order.token]))


def after_commit(send: Callable[[], object]) -> None:
    """Render and send once the change has committed, when its locks are let go.

    For emails decided under the session lock every buyer waits for: rendering
    templates and calendar files there would lengthen each buyer's wait.
    """
    transaction.on_commit(send, robust=True)


def calendar_attachment(session: WorkshopSession) -> Attachment:
    """The session for a ticket holder's calendar, joining link included."""
    return Attachment(
        filename=session_filename(session),
        content=session_ics(
            session, url=session.workshop.full_url, meeting_url=session.meeting_url
        ),
        mimetype="text/calendar",
    )


def send_confirmation(order: Order) -> None:
    """The buyer's receipt with every ticket and an .ics per session; each other
    attendee gets their own ticket."""
    tickets = list(
        order.tickets.select_related("session__workshop").order_by(
            "session__starts_at", "session_id", "pk"
        )
    )
    by_session: dict[int, tuple[WorkshopSession, list]] = {}
    for ticket in tickets:
        by_session.setdefault(ticket.session_id, (ticket.session, []))[1].append(
            (ticket, ticket_url(ticket))
        )
    # Built once per session for the buyer and every attendee of it.
    calendars = {
        session_id: calendar_attachment(session)
        for session_id, (session, _) in by_session.items()
    }
    send_templated_email(
        template="workshops/emails/order_confirmation",
        to=[order.buyer_email],
        context={
            "order": order,
            "session": order.session,
            "sessions": list(by_session.values()),
            "tickets": [(ticket, ticket_url(ticket)) for ticket in tickets],
            "order_url": order_url(order),
        },
        attachments=list(calendars.values()),
    )
    for ticket in tickets:
        if ticket.attendee_email.lower() != order.buyer_email.lower():
            send_ticket(
                ticket,
                template="workshops/emails/ticket_issued",
                calendar=calendars[ticket.session_id],
            )


def send_ticket(
    ticket: Ticket,
    *,
    template: str,
    extra_attachments: Sequence[Attachment] = (),
    context: dict | None = None,
    calendar: Attachment | None = None,
) -> None:
    """One attendee's ticket, with its link and the session's calendar entry."""
    send_templated_email(
        template=template,
        to=[ticket.attendee_email],
        context={
            "ticket": ticket,
            "order": ticket.order,
            "session": ticket.session,
            "ticket_url": ticket_url(ticket),
            **(context or {}),
        },
        attachments=[
            calendar or calendar_attachment(ticket.session),
            *extra_attachments,
        ],
    )
