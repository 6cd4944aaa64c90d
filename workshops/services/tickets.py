"""After the sale: staff cancel or move a ticket; the holder hands it on."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log

from home.email import Attachment, send_templated_email

from .. import payments
from ..ical import session_cancel_ics
from ..models import Order, PaymentMethod, SessionStatus, Ticket, TicketStatus
from ..models.tickets import new_secret
from .emails import send_ticket
from .orders import Attendee
from .refunds import ticket_price
from .seats import lock_session, seats_taken


class TicketError(Exception):
    """A reason to refuse a change to a ticket, worded for staff or the holder."""


def ticket_cancel(*, ticket_id: int, refund: bool, user=None) -> Ticket:
    """Cancel a paid ticket, refund its share of the payment, and free the seat."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        order = Order.objects.select_for_update().get(pk=ticket.order_id)
        if ticket.status != TicketStatus.VALID:
            raise TicketError("Only a valid ticket can be cancelled.")
        amount = ticket_price(order, ticket) if refund else Decimal("0")
        if amount and order.payment_method == PaymentMethod.STRIPE:
            ticket.stripe_refund_id = payments.refund_create(
                payment_intent_id=order.stripe_payment_intent_id,
                amount=amount,
                idempotency_key=f"refund-ticket-{ticket.pk}",
                reason=f"Ticket {ticket.pk} of order {order.reference} cancelled",
            )
        ticket.cancel(refunded=amount)
        order.ticket_cancelled(refunded=amount, refund=refund)
        log(
            ticket,
            "workshops.ticket.cancelled",
            user=user,
            data={"refunded": str(amount), "order": order.reference},
        )
        send_templated_email(
            template="workshops/emails/ticket_cancelled",
            to=[ticket.attendee_email],
            context={"ticket": ticket, "order": order, "refunded": amount},
        )
    return ticket


def ticket_move(*, ticket_id: int, session_id: int, user=None) -> Ticket:
    """Move an attendee to another session, if it has a free seat."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
        if ticket.status != TicketStatus.VALID:
            raise TicketError("Only a valid ticket can be moved.")
        if ticket.session_id == session_id:
            raise TicketError("The ticket is already for that session.")
        session = lock_session(session_id)
        if session.status in {SessionStatus.CANCELLED, SessionStatus.COMPLETED}:
            raise TicketError("That session is cancelled or over.")
        now = timezone.now()
        if seats_taken(session.pk, now=now) >= session.effective_capacity:
            raise TicketError("That session has no free seat.")
        old_session = ticket.session
        ticket.session = session
        ticket.save()
        log(
            ticket,
            "workshops.ticket.moved",
            user=user,
            data={"from": old_session.pk, "to": session.pk},
        )
        # The old entry is withdrawn from the attendee's calendar (same UID,
        # METHOD:CANCEL) and the new one added, so they never hold both.
        send_ticket(
            ticket,
            template="workshops/emails/ticket_moved",
            extra_attachments=[
                Attachment(
                    filename=f"cancelled-{old_session.date:%Y-%m-%d}.ics",
                    content=session_cancel_ics(
                        old_session, url=old_session.workshop.full_url
                    ),
                    mimetype="text/calendar",
                )
            ],
            context={"old_session": old_session},
        )
    return ticket


def ticket_update_attendee(*, ticket_id: int, name: str, email: str) -> Ticket:
    """The holder corrects the attendee's name or hands the seat to a colleague."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
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
            send_templated_email(
                template="workshops/emails/ticket_handed_over",
                to=[previous.email],
                context={
                    "ticket": ticket,
                    "previous": previous,
                    "session": ticket.session,
                },
            )
    return ticket
