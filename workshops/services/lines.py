"""What an order is made of: a line per session, a ticket per seat, each session
locked in key order; shared by card checkout and seat codes."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..models import Order, OrderLine, Ticket, TicketStatus, TicketType
from .seats import CheckoutError, lock_session


@dataclass(frozen=True)
class Attendee:
    """Who comes to a seat."""

    name: str
    email: str


def order_lines(
    *, session_id: int, quantity: int, also: Sequence[tuple[int, int]] = ()
) -> list[tuple[int, int]]:
    """(session id, tickets) for each session of an order, the chosen one first."""
    lines = [(session_id, quantity)]
    seen = {session_id}
    for other_id, tickets in also:
        if other_id in seen:
            raise CheckoutError("Choose each date once.")
        seen.add(other_id)
        lines.append((other_id, tickets))
    return lines


def lock_sessions(session_ids: Sequence[int]) -> dict:
    """Lock every session of an order, in the order of their keys.

    Two orders that share sessions take their locks in the same order, so
    neither can hold one the other waits for while waiting for one it holds.
    """
    return {sid: lock_session(sid) for sid in sorted(set(session_ids))}


def order_add_lines_and_tickets(
    *,
    order: Order,
    lines: Sequence[tuple[int, int]],
    sessions: dict,
    seats_per_ticket: int,
    attendees: Sequence[Attendee],
    status: str = TicketStatus.RESERVED,
) -> None:
    """The order's lines and one ticket per seat, attendees session by session."""
    OrderLine.objects.bulk_create(
        OrderLine(order=order, session=sessions[sid], quantity=tickets)
        for sid, tickets in lines
    )
    people = iter(attendees)
    tickets = []
    for sid, count in lines:
        for _ in range(count * seats_per_ticket):
            attendee = next(people)
            tickets.append(
                Ticket(
                    order=order,
                    session=sessions[sid],
                    attendee_name=attendee.name,
                    attendee_email=attendee.email,
                    status=status,
                )
            )
    Ticket.objects.bulk_create(tickets)


def ticket_type_for(
    *, ticket_type_id: int, lines: Sequence[tuple[int, int]], now: datetime
) -> TicketType:
    """The ticket type chosen, if it is on sale for these sessions in that number."""
    ticket_type = TicketType.objects.on_sale(now=now).filter(pk=ticket_type_id).first()
    if ticket_type is None:
        raise CheckoutError("That ticket type is not on sale now.")
    session_ids = {sid for sid, _ in lines}
    sold_for = set(
        ticket_type.workshops.filter(sessions__in=session_ids).values_list(
            "sessions", flat=True
        )
    )
    if sold_for != session_ids:
        raise CheckoutError("That ticket type is not sold for this workshop.")
    for _, quantity in lines:
        if not 1 <= quantity <= ticket_type.max_per_order:
            raise CheckoutError(
                f"Choose between 1 and {ticket_type.max_per_order} tickets of this "
                "type for each date."
            )
    return ticket_type
