"""Business actions on orders and tickets: validate, lock, write, log, notify.

Seats are the scarce thing. Every action that takes seats locks the session row
(SELECT ... FOR UPDATE, with a short lock_timeout on PostgreSQL; on SQLite the
IMMEDIATE transaction already serialises writers) just before counting them, so
concurrent buyers can never exceed a session's capacity. Freeing seats needs no
session lock. Orders are changed under their own row lock, so the webhook and
the success page, whichever comes first, fulfil an order exactly once.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from wagtail.log_actions import log

from home.email import Attachment, send_templated_email

from . import payments
from .formatting import day_label
from .ical import session_cancel_ics, session_filename, session_ics
from .models import (
    Order,
    OrderStatus,
    PaymentMethod,
    SessionStatus,
    StripeEvent,
    Ticket,
    TicketStatus,
    TicketType,
    WorkshopSession,
    available_time_zones,
)
from .models.tickets import new_secret

LOCK_TIMEOUT = "5s"
# Unpaid orders one buyer may have waiting at once: a person paying needs one.
MAX_UNPAID_ORDERS = 3
CENT = Decimal("0.01")


class CheckoutError(Exception):
    """A reason to refuse a checkout, worded for the buyer."""


class SessionBusy(CheckoutError):
    """The session's lock could not be had in time; trying again will do."""


class TicketError(Exception):
    """A reason to refuse a change to a ticket, worded for staff or the holder."""


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str


def lock_session(session_id: int) -> WorkshopSession:
    """Lock a session's row for the rest of the transaction, before counting seats."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    try:
        return (
            WorkshopSession.objects.select_for_update(of=("self",))
            .select_related("workshop")
            .get(pk=session_id)
        )
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
            raise SessionBusy(
                "Many people are booking this session right now. "
                "Please try again in a moment."
            ) from error
        raise


def seats_taken(session_id: int, *, now: datetime, exclude_order: int | None = None):
    tickets = Ticket.objects.filter(session_id=session_id).holding_seats(now=now)
    if exclude_order is not None:
        tickets = tickets.exclude(order_id=exclude_order)
    return tickets.count()


def order_create(
    *,
    session_id: int,
    ticket_type_id: int,
    quantity: int,
    buyer_name: str,
    buyer_email: str,
    buyer_time_zone: str,
    attendees: Sequence[Attendee],
    now: datetime | None = None,
) -> Order:
    """Hold seats for a buyer and make the order that will pay for them."""
    now = now or timezone.now()
    ticket_type = TicketType.objects.on_sale(now=now).filter(pk=ticket_type_id).first()
    if ticket_type is None:
        raise CheckoutError("That ticket type is not on sale now.")
    if not ticket_type.workshops.filter(sessions=session_id).exists():
        raise CheckoutError("That ticket type is not sold for this workshop.")
    if not 1 <= quantity <= ticket_type.max_per_order:
        raise CheckoutError(
            f"Choose between 1 and {ticket_type.max_per_order} tickets of this type."
        )
    seats = quantity * ticket_type.seats_per_ticket
    if len(attendees) != seats:
        raise CheckoutError(f"Give a name and email address for all {seats} seats.")
    unpaid = Order.objects.filter(
        buyer_email__iexact=buyer_email,
        status=OrderStatus.PENDING,
        hold_expires_at__gt=now,
    )
    if unpaid.count() >= MAX_UNPAID_ORDERS:
        raise CheckoutError(
            "You have orders waiting for payment already: finish or cancel one "
            "of them first (see the links in your browser's history)."
        )

    with transaction.atomic():
        session = lock_session(session_id)
        if not session.workshop.live or session.status not in {
            SessionStatus.SCHEDULED,
            SessionStatus.TENTATIVE,
        }:
            raise CheckoutError("This session is not open for booking.")
        if session.local_start <= now:
            raise CheckoutError("Booking for this session has closed: it has begun.")
        left = session.effective_capacity - seats_taken(session.pk, now=now)
        if seats > left:
            raise CheckoutError(
                "Sorry, this session is sold out."
                if left <= 0
                else f"Only {left} seat{'s' if left != 1 else ''} left in this session."
            )
        order = Order.objects.create(
            session=session,
            ticket_type=ticket_type,
            quantity=quantity,
            unit_price=ticket_type.price,
            total=ticket_type.price * quantity,
            buyer_name=buyer_name,
            buyer_email=buyer_email,
            buyer_time_zone=(
                buyer_time_zone
                if buyer_time_zone in available_time_zones()
                else session.time_zone
            ),
            payment_method=(
                PaymentMethod.FREE
                if ticket_type.price == 0
                else PaymentMethod.DEMO
                if payments.demo_mode()
                else PaymentMethod.STRIPE
            ),
            hold_expires_at=now + payments.CHECKOUT_LIFETIME + payments.HOLD_GRACE,
        )
        Ticket.objects.bulk_create(
            Ticket(
                order=order,
                session=session,
                attendee_name=attendee.name,
                attendee_email=attendee.email,
            )
            for attendee in attendees
        )
        log(order, "workshops.order.created", data={"seats": seats})
    return order


def order_start_payment(*, order: Order, success_url: str, cancel_url: str) -> str:
    """Where to send the buyer to pay: Stripe Checkout, made once per order."""
    if order.stripe_checkout_url:
        return order.stripe_checkout_url
    session = order.session
    state = payments.checkout_session_create(
        reference=order.reference,
        product_name=f"{session.workshop.title}: {order.ticket_type.name}",
        product_description=f"{day_label(session.date)} ({session.time_zone})",
        unit_amount=order.unit_price,
        quantity=order.quantity,
        customer_email=order.buyer_email,
        success_url=success_url,
        cancel_url=cancel_url,
    )
    hold = (state.expires_at or timezone.now()) + payments.HOLD_GRACE
    Order.objects.filter(pk=order.pk).update(
        stripe_checkout_session_id=state.id,
        stripe_checkout_url=state.url,
        hold_expires_at=hold,
    )
    order.stripe_checkout_session_id, order.stripe_checkout_url = state.id, state.url
    return state.url


def order_sync(
    *,
    order: Order,
    state: payments.CheckoutState | None = None,
    checkout_session_id: str = "",
) -> Order:
    """Bring an order in line with what Stripe says of its Checkout Session now."""
    checkout_session_id = checkout_session_id or order.stripe_checkout_session_id
    if not checkout_session_id:
        return order
    state = state or payments.checkout_session_retrieve(checkout_session_id)
    if state.client_reference_id != order.reference:
        return order
    if not order.stripe_checkout_session_id:
        # Stripe made the session but our note of it was lost (a crash between
        # Stripe's answer and our update): keep it now.
        Order.objects.filter(pk=order.pk).update(stripe_checkout_session_id=state.id)
        order.stripe_checkout_session_id = state.id
    if state.paid:
        return order_fulfil(
            order_id=order.pk,
            payment_method=PaymentMethod.STRIPE,
            payment_intent_id=state.payment_intent_id,
        )
    if state.processing:
        return order_mark_processing(
            order_id=order.pk, payment_intent_id=state.payment_intent_id
        )
    if state.failed:
        return order_release(order_id=order.pk, status=OrderStatus.FAILED)
    if state.expired:
        return order_release(order_id=order.pk, status=OrderStatus.EXPIRED)
    return order


def order_fulfil(
    *,
    order_id: int,
    payment_method: str,
    payment_intent_id: str = "",
    now: datetime | None = None,
) -> Order:
    """Mark an order paid and its tickets valid, and send the confirmation; once."""
    now = now or timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        # Once paid, always settled: a late or repeated trigger (an ACH event out
        # of order, a second click) must not revive an order staff cancelled.
        if order.paid_at is not None or order.status in {
            OrderStatus.PAID,
            OrderStatus.REFUNDED,
        }:
            return order
        hold_kept = order.status == OrderStatus.PROCESSING or (
            order.status == OrderStatus.PENDING
            and order.hold_expires_at is not None
            and order.hold_expires_at > now
        )
        if not hold_kept:
            # Paid after the hold lapsed: the seats may have gone to someone else.
            session = lock_session(order.session_id)
            taken = seats_taken(session.pk, now=now, exclude_order=order.pk)
            if taken + order.seats > session.effective_capacity:
                return _refund_unseatable(order, payment_intent_id=payment_intent_id)
        order.status = OrderStatus.PAID
        order.payment_method = payment_method
        order.stripe_payment_intent_id = payment_intent_id
        order.paid_at = now
        order.hold_expires_at = None
        order.save()
        order.tickets.exclude(status=TicketStatus.CANCELLED).update(
            status=TicketStatus.VALID
        )
        log(order, "workshops.order.paid", data={"method": payment_method})
        _send_confirmation(order)
    return order


def order_mark_processing(*, order_id: int, payment_intent_id: str) -> Order:
    """A payment that settles later (ACH): keep the seats until Stripe decides."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != OrderStatus.PENDING:
            return order
        order.status = OrderStatus.PROCESSING
        order.stripe_payment_intent_id = payment_intent_id
        order.hold_expires_at = None
        order.save()
        log(order, "workshops.order.processing")
    return order


def order_release(*, order_id: int, status: str) -> Order:
    """An order that will not be paid: free its seats. Paid orders stay paid."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status not in {OrderStatus.PENDING, OrderStatus.PROCESSING}:
            return order
        order.status = status
        order.hold_expires_at = None
        order.save()
        order.tickets.filter(status=TicketStatus.RESERVED).update(
            status=TicketStatus.RELEASED
        )
        log(order, "workshops.order.released", data={"status": status})
    return order


def order_abandon(*, order: Order) -> Order:
    """The buyer left Stripe Checkout: close it, and free the seats unless paid."""
    if order.status != OrderStatus.PENDING:
        return order
    if order.stripe_checkout_session_id:
        state = payments.checkout_session_expire(order.stripe_checkout_session_id)
        if not state.expired:
            return order_sync(order=order, state=state)
    return order_release(order_id=order.pk, status=OrderStatus.CANCELLED)


def orders_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Settle orders whose webhook never came: ask Stripe, as the success page does.

    For a scheduled job (`manage.py reconcile_orders`): lapsed holds whose Checkout
    Session is still open are closed at Stripe first, so they cannot be paid
    after their seats are gone; payments still processing after a day are
    looked up again.
    """
    now = now or timezone.now()
    counts = {"checked": 0, "changed": 0, "unreachable": 0}
    lapsed = Order.objects.filter(status=OrderStatus.PENDING, hold_expires_at__lt=now)
    slow = Order.objects.filter(
        status=OrderStatus.PROCESSING, updated_at__lt=now - timedelta(days=1)
    )
    for order in [*lapsed, *slow]:
        counts["checked"] += 1
        before = order.status
        try:
            if order.status == OrderStatus.PENDING and order.stripe_checkout_session_id:
                order = order_sync(
                    order=order,
                    state=payments.checkout_session_expire(
                        order.stripe_checkout_session_id
                    ),
                )
            elif order.status == OrderStatus.PENDING:
                order = order_release(order_id=order.pk, status=OrderStatus.EXPIRED)
            else:
                order = order_sync(order=order)
        except (payments.PaymentsUnavailable, SessionBusy):
            counts["unreachable"] += 1
            continue
        counts["changed"] += order.status != before
    return counts


def stripe_event_first_time(*, event_id: str, event_type: str, order: Order) -> bool:
    """Record a webhook event; False when it has been handled before."""
    _, created = StripeEvent.objects.get_or_create(
        event_id=event_id, defaults={"type": event_type, "order": order}
    )
    return created


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
        ticket.status = TicketStatus.CANCELLED
        ticket.refunded_amount = amount
        ticket.save()
        order.refunded_amount += amount
        if not order.tickets.filter(status=TicketStatus.VALID).exists():
            order.status = OrderStatus.REFUNDED if refund else OrderStatus.CANCELLED
        order.save()
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
        _send_ticket(
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
            _send_ticket(ticket, template="workshops/emails/ticket_issued")
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


def ticket_price(order: Order, ticket: Ticket) -> Decimal:
    """What one seat cost: an equal share, the first seat taking the odd cents.

    Fixed per ticket, so refunds add up to the total whatever the order in which
    seats are cancelled, and with or without a refund.
    """
    if order.total <= 0:
        return Decimal("0")
    share = (order.total / order.seats).quantize(CENT, rounding=ROUND_DOWN)
    first = order.tickets.order_by("pk").values_list("pk", flat=True).first()
    return share + (order.total - share * order.seats if ticket.pk == first else 0)


def _refund_unseatable(order: Order, *, payment_intent_id: str) -> Order:
    """Paid too late for seats that have gone: give the money back at once."""
    if order.total > 0 and order.payment_method != PaymentMethod.DEMO:
        payments.refund_create(
            payment_intent_id=payment_intent_id,
            amount=order.total,
            idempotency_key=f"refund-order-{order.reference}",
            reason=f"Order {order.reference} paid after its seats were released",
        )
    order.status = OrderStatus.REFUNDED
    order.refunded_amount = order.total
    order.stripe_payment_intent_id = payment_intent_id
    order.save()
    order.tickets.update(status=TicketStatus.RELEASED)
    log(order, "workshops.order.refunded_no_seats")
    send_templated_email(
        template="workshops/emails/order_refunded",
        to=[order.buyer_email],
        context={"order": order, "session": order.session},
    )
    return order


def absolute(path: str) -> str:
    return settings.BASE_URL + path


def ticket_url(ticket: Ticket) -> str:
    return absolute(reverse("workshops:ticket", args=[ticket.token]))


def order_url(order: Order) -> str:
    return absolute(reverse("workshops:order", args=[order.token]))


def _calendar_attachment(session: WorkshopSession) -> Attachment:
    """The session for a ticket holder's calendar, joining link included."""
    return Attachment(
        filename=session_filename(session),
        content=session_ics(
            session, url=session.workshop.full_url, meeting_url=session.meeting_url
        ),
        mimetype="text/calendar",
    )


def _send_confirmation(order: Order) -> None:
    """The buyer's receipt with every ticket; each other attendee gets their own."""
    tickets = list(order.tickets.select_related("session__workshop"))
    session = order.session
    # Built once for the buyer and every attendee of a team pack.
    calendar = _calendar_attachment(session)
    send_templated_email(
        template="workshops/emails/order_confirmation",
        to=[order.buyer_email],
        context={
            "order": order,
            "session": session,
            "tickets": [(ticket, ticket_url(ticket)) for ticket in tickets],
            "order_url": order_url(order),
        },
        attachments=[calendar],
    )
    for ticket in tickets:
        if ticket.attendee_email.lower() != order.buyer_email.lower():
            _send_ticket(
                ticket,
                template="workshops/emails/ticket_issued",
                calendar=calendar if ticket.session_id == session.pk else None,
            )


def _send_ticket(
    ticket: Ticket,
    *,
    template: str,
    extra_attachments: Sequence[Attachment] = (),
    context: dict | None = None,
    calendar: Attachment | None = None,
) -> None:
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
            calendar or _calendar_attachment(ticket.session),
            *extra_attachments,
        ],
    )
