"""What buyers and attendees are sent: receipts and tickets, each holder's own
calendar entry as an iMIP invitation (docs/notices.md, "The first invitation")."""

from collections.abc import Callable, Sequence
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Site

from home.email import Attachment, CalendarInvite, send_templated_email
from home.models import SiteSettings

from ..ical import session_imip
from ..models import Order, Ticket, TicketStatus, WorkshopSession


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


def default_site() -> Site | None:
    return Site.objects.filter(is_default_site=True).first()


def organizer_address(site: Site | None) -> tuple[str, str]:
    """(name, email) of the site's contact address: who calendar entries are from."""
    site_settings = SiteSettings.for_site(site) if site else None
    if site_settings and site_settings.contact_email:
        return site_settings.organisation_name, site_settings.contact_email
    return parseaddr(settings.DEFAULT_FROM_EMAIL)


def sender_for(organizer: tuple[str, str]) -> str | None:
    """From the ORGANIZER where our domain may send as it, as iMIP advises.

    Calendar apps trust an update most when the sender is the organizer; an
    address of another domain would fail SPF and DMARC, so then the site's
    usual sender (None) it is, with the organizer as Reply-To.
    """
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2].lower()
    if organizer[1].rpartition("@")[2].lower() == domain:
        return formataddr(organizer)
    return None


def ticket_calendar_invite(
    ticket: Ticket,
    *,
    session: WorkshopSession | None = None,
    method: str = "REQUEST",
    organizer: tuple[str, str] | None = None,
    attendee: tuple[str, str] | None = None,
) -> CalendarInvite:
    """A holder's own calendar entry as an iMIP invitation (joining link included).

    The ticket email and every later notice build it here: the session's UID,
    its current SEQUENCE, the same ORGANIZER, the holder as ATTENDEE. So the
    first entry is already one a later REQUEST or CANCEL replaces in Google,
    Outlook and Apple calendars, instead of a plain event beside it.
    `attendee` (name, email) when the entry is someone's other than the
    ticket's holder now: a move's CANCEL for the holder at the move.
    """
    session = session or ticket.session
    if organizer is None:
        organizer = organizer_address(default_site())
    return CalendarInvite(
        method=method,
        content=session_imip(
            session,
            method=method,
            url=session.workshop.full_url or settings.BASE_URL,
            organizer=organizer,
            attendee=attendee or (ticket.attendee_name, ticket.attendee_email),
            stamp=timezone.now(),
            meeting_url=session.meeting_url,
        ),
    )


def invitation(
    ticket: Ticket, *, method: str = "REQUEST", site: Site | None = None
) -> dict[str, Any]:
    """What an email carrying a holder's invitation adds: the part and its sender.

    Keyword arguments for `send_templated_email`, as the notices send them.
    """
    site = site or default_site()
    organizer = organizer_address(site)
    return {
        "invite": ticket_calendar_invite(ticket, method=method, organizer=organizer),
        "reply_to": [organizer[1]],
        "from_email": sender_for(organizer),
        "site": site,
    }


def holds_session(
    email: str, session_id: int, *, besides: Ticket | None = None
) -> bool:
    """Whether `email` holds a valid ticket for the session (other than `besides`).

    Then their calendar entry (one per address and UID) must stay.
    """
    tickets = Ticket.objects.filter(
        session_id=session_id, status=TicketStatus.VALID, attendee_email__iexact=email
    )
    if besides is not None:
        tickets = tickets.exclude(pk=besides.pk)
    return tickets.exists()


def send_confirmation(order: Order) -> None:
    """The buyer's receipt with every ticket; each holder's own invitations.

    One iMIP message carries one iCalendar object of one METHOD, and iTIP's
    REQUEST allows several VEVENTs only for one UID, so each date a person
    holds comes as its own message: the receipt itself when the buyer holds
    one date, else one invitation email per date. Someone who buys for others
    and does not attend gets no calendar entry: the holders get theirs, and
    only holders hear of changes.
    """
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
    buyer = order.buyer_email.lower()
    # The buyer's own ticket of each date they attend, first of each.
    own: dict[int, Ticket] = {}
    for ticket in tickets:
        if ticket.attendee_email.lower() == buyer:
            own.setdefault(ticket.session_id, ticket)
    site = default_site()
    # The receipt is the buyer's invitation when they hold exactly one date.
    invite = invitation(next(iter(own.values())), site=site) if len(own) == 1 else {}
    send_templated_email(
        template="workshops/emails/order_confirmation",
        to=[order.buyer_email],
        context={
            "order": order,
            "session": order.session,
            "sessions": list(by_session.values()),
            "tickets": [(ticket, ticket_url(ticket)) for ticket in tickets],
            "order_url": order_url(order),
            "invited": bool(invite),
            "invitations_follow": len(own) > 1,
        },
        **(invite or {"site": site}),
    )
    if len(own) > 1:
        for ticket in own.values():
            send_ticket(ticket, template="workshops/emails/ticket_invitation")
    for ticket in tickets:
        if ticket.attendee_email.lower() != buyer:
            send_ticket(ticket, template="workshops/emails/ticket_issued")


def send_ticket(
    ticket: Ticket,
    *,
    template: str,
    extra_attachments: Sequence[Attachment] = (),
    context: dict | None = None,
) -> None:
    """One holder's ticket, with its link and their invitation to the session."""
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
        attachments=list(extra_attachments),
        **invitation(ticket),
    )
