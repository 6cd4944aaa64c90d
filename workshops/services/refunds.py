"""Money back: each seat's fixed share, and payments that came too late for a seat."""

from decimal import ROUND_DOWN, Decimal

from wagtail.log_actions import log

from home.email import send_templated_email

from .. import payments
from ..models import Order, PaymentMethod, Ticket

CENT = Decimal("0.01")


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


def order_refund_unseated(*, order: Order, payment_intent_id: str) -> Order:
    """Paid too late for seats that have gone: give the money back at once."""
    # Only order_fulfil calls this, with the order's row lock held.
    if order.total > 0 and order.payment_method != PaymentMethod.DEMO:
        payments.refund_create(
            payment_intent_id=payment_intent_id,
            amount=order.total,
            idempotency_key=f"refund-order-{order.reference}",
            reason=f"Order {order.reference} paid after its seats were released",
        )
    order.refund_unseated(payment_intent_id=payment_intent_id)
    log(order, "workshops.order.refunded_no_seats")
    send_templated_email(
        template="workshops/emails/order_refunded",
        to=[order.buyer_email],
        context={"order": order, "session": order.session},
    )
    return order
