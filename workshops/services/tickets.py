"""After the sale: staff cancel or move a ticket; the holder hands it on."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log

from ..models import (
    NoticeReason,
    Order,
    PaymentMethod,
    SessionStatus,
    Ticket,
    TicketStatus,
    TicketType,
    WorkshopSession,
)
from ..models.tickets import new_secret
from ..selectors import ticket_other_dates
from .emails import send_ticket
from .lines import lock_sessions
from .notices import ticket_moved_notify, ticket_withdrawal_notify
from .orders import Attendee
from .refunds import CENT, refund_request, ticket_price
from .seats import SessionBusy, lock_session, seats_freed, seats_taken


class TicketError(Exception):
    """A reason to refuse a change to a ticket, worded for staff or the holder."""


MOVED_MEANWHILE = "The ticket moved to another session meanwhile: please try again."


def _lock_ticket_in_session(ticket_id: int, *, also: Sequence[int] = ()) -> Ticket:
    """The ticket's session (and `also`) locked in key order, then the ticket.

    Sessions before tickets and orders is the order every path that locks
    both takes (`order_fulfil`, checkout, codes, the waiting list), so none
    waits on another crosswise. Changes to one session's seats then commit one
    after the other; whether a holder's entry is withdrawn is decided when its
    notice is sent, after its own commit, so of two seats of one address
    cancelled at once the later one's notice sees both gone and withdraws it.
    """
    session_id = Ticket.objects.values_list("session_id", flat=True).get(pk=ticket_id)
    try:
        lock_sessions([session_id, *also])
    except SessionBusy as busy:
        # The ticket views and the admin word a TicketError for the person.
        raise TicketError(str(busy)) from busy
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("order__ticket_type")
        .get(pk=ticket_id)
    )
    if ticket.session_id != session_id:
        raise TicketError(MOVED_MEANWHILE)
    return ticket


def ticket_cancel(*, ticket_id: int, refund: bool, user=None) -> Ticket:
    """Cancel a paid ticket, refund its share of the payment, and free the seat."""
    with transaction.atomic():
        ticket = _lock_ticket_in_session(ticket_id)
        order = Order.objects.select_for_update().get(pk=ticket.order_id)
        if ticket.status != TicketStatus.VALID:
            raise TicketError("Only a valid ticket can be cancelled.")
        amount = ticket_price(order, ticket) if refund else Decimal("0")
        if amount and order.payment_method == PaymentMethod.STRIPE:
            # Sent to Stripe after the commit, by a task (services.refunds).
            refund_request(
                order=order,
                ticket=ticket,
                amount=amount,
                idempotency_key=f"refund-ticket-{ticket.pk}",
                reason=f"Ticket {ticket.pk} of order {order.reference} cancelled",
            )
        ticket.cancel(refunded=amount)
        order.ticket_cancelled(refunded=amount, refund=refund)
        seats_freed(session_ids=[ticket.session_id])
        log(
            ticket,
            "workshops.ticket.cancelled",
            user=user,
            data={"refunded": str(amount), "order": order.reference},
        )
        # Their invitation carried the joining link and would never hear of
        # a change again: the email says so and withdraws it (a CANCEL),
        # unless another seat of theirs in the session keeps it.
        ticket_withdrawal_notify(
            ticket=ticket,
            reason=NoticeReason.TICKET_CANCELLED,
            name=ticket.attendee_name,
            email=ticket.attendee_email,
        )
    return ticket


@dataclass(frozen=True)
class MoveQuote:
    """What one seat costs in the ticket's workshop and in the one it would go to."""

    ticket_type: TicketType
    target_type: TicketType
    workshop_title: str

    @property
    def difference(self) -> Decimal:
        """Per seat: more (positive) or less (negative) where the ticket would go."""
        return (
            self.target_type.price / self.target_type.seats_per_ticket
            - self.ticket_type.price / self.ticket_type.seats_per_ticket
        ).quantize(CENT)

    def describe(self) -> str:
        seat = self.ticket_type.price / self.ticket_type.seats_per_ticket
        there = self.target_type.price / self.target_type.seats_per_ticket
        more_or_less = "more" if self.difference > 0 else "less"
        return (
            f"A seat of this ticket ({self.ticket_type.name}) cost ${seat:,.2f}; "
            f"in {self.workshop_title} it costs ${there:,.2f} "
            f"({self.target_type.name}), ${abs(self.difference):,.2f} {more_or_less}. "
            "No money moves by itself: refund or charge the difference separately."
        )


class PriceDifference(TicketError):
    """A move across prices that staff have not confirmed."""


def ticket_move_quote(
    *, ticket_type: TicketType, offered: Sequence[TicketType], workshop_title: str
) -> MoveQuote:
    """The target workshop's price for the ticket's kind of seat, or a refusal.

    Its own type if the workshop sells it (the same price); otherwise the
    cheapest active type there with as many seats per ticket.
    """
    if any(other.pk == ticket_type.pk for other in offered):
        return MoveQuote(ticket_type, ticket_type, workshop_title)
    alike = sorted(
        (
            other
            for other in offered
            if other.active and other.seats_per_ticket == ticket_type.seats_per_ticket
        ),
        key=lambda other: (other.price, other.pk),
    )
    if not alike:
        raise TicketError(
            f"{workshop_title} does not sell {ticket_type.name} tickets or any like "
            "them: cancel and refund this ticket instead."
        )
    return MoveQuote(ticket_type, alike[0], workshop_title)


def ticket_move(
    *,
    ticket_id: int,
    session_id: int,
    confirmed_difference: Decimal | None = None,
    user=None,
) -> Ticket:
    """Move an attendee to another session, if it has a free seat.

    A move to a workshop whose seat costs more or less takes
    `confirmed_difference`: the per-seat difference staff were shown.
    """
    with transaction.atomic():
        # Both sessions before the ticket, in key order (`_lock_ticket_in_session`).
        ticket = _lock_ticket_in_session(ticket_id, also=[session_id])
        if ticket.status != TicketStatus.VALID:
            raise TicketError("Only a valid ticket can be moved.")
        if ticket.session_id == session_id:
            raise TicketError("The ticket is already for that session.")
        target = WorkshopSession.objects.select_related("workshop").get(pk=session_id)
        quote = ticket_move_quote(
            ticket_type=ticket.order.ticket_type,
            offered=list(target.workshop.ticket_types.all()),
            workshop_title=target.workshop.title,
        )
        if quote.difference and confirmed_difference != quote.difference:
            raise PriceDifference(quote.describe())
        old_session = ticket.session
        _ticket_take_seat(ticket, session_id=session_id)
        log(
            ticket,
            "workshops.ticket.moved",
            user=user,
            data={
                "from": old_session.pk,
                "to": session_id,
                "price_difference": str(quote.difference),
            },
        )
        # Two messages, one METHOD each (RFC 6047): CANCEL takes the old date
        # out of the attendee's calendar, REQUEST puts the new one in.
        ticket_moved_notify(ticket_id=ticket.pk, from_session_id=old_session.pk)
        seats_freed(session_ids=[old_session.pk])
    return ticket


def ticket_change_date(*, ticket_id: int, session_id: int) -> Ticket:
    """The holder moves their ticket to another date of the same workshop."""
    ticket = Ticket.objects.select_related("session__workshop").get(pk=ticket_id)
    if session_id not in {other.pk for other in ticket_other_dates(ticket=ticket)}:
        raise TicketError(
            "That date cannot be chosen now: pick one of the dates listed."
        )
    # The same workshop's ticket types, so no price difference; the seat and
    # the ticket are checked again under their locks.
    return ticket_move(ticket_id=ticket_id, session_id=session_id)


def _ticket_take_seat(ticket: Ticket, *, session_id: int) -> None:
    """With the target session's lock: a free seat, or a refusal."""
    session = lock_session(session_id)
    if session.status in {SessionStatus.CANCELLED, SessionStatus.COMPLETED}:
        raise TicketError("That session is cancelled or over.")
    if seats_taken(session.pk, now=timezone.now()) >= session.effective_capacity:
        raise TicketError("That session has no free seat.")
    ticket.session = session
    ticket.save(update_fields=["session", "updated_at"])


def ticket_update_attendee(*, ticket_id: int, name: str, email: str) -> Ticket:
    """The holder corrects the attendee's name or hands the seat to a colleague."""
    with transaction.atomic():
        ticket = _lock_ticket_in_session(ticket_id)
        if ticket.status != TicketStatus.VALID:
            raise TicketError("This ticket can no longer be changed.")
        new_holder = email.lower() != ticket.attendee_email.lower()
        previous = Attendee(ticket.attendee_name, ticket.attendee_email)
        changes = {"name": [ticket.attendee_name, name], "new_holder": new_holder}
        ticket.attendee_name, ticket.attendee_email = name, email
        if new_holder:
            # The seat changes hands: the old private link, and with it the
            # joining link and the right to hand the seat on, stop working.
            ticket.secret = new_secret()
        ticket.save()
        log(ticket, "workshops.ticket.attendee_changed", data=changes)
        if new_holder:
            send_ticket(ticket, template="workshops/emails/ticket_issued")
            ticket_withdrawal_notify(
                ticket=ticket,
                reason=NoticeReason.HANDED_ON,
                name=previous.name,
                email=previous.email,
            )
    return ticket
