"""Money back: each seat's fixed share, late payments, and refunds sent to Stripe.

A refund is recorded (pending) in the transaction that decides it, under that
change's locks; Stripe is called after the commit, from a task, with no lock
held (docs/conventions.md, "Tickets and payments").
"""

import logging
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from wagtail.log_actions import log

from home.email import email_context, send_templated_email
from home.tasks import enqueue_on_commit

from .. import payments, tasks
from ..models import Order, PaymentMethod, Refund, RefundStatus, Ticket
from .emails import after_commit

logger = logging.getLogger(__name__)

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


def refund_request(
    *,
    order: Order,
    amount: Decimal,
    idempotency_key: str,
    reason: str,
    ticket: Ticket | None = None,
) -> Refund:
    """Record a refund to send once the caller's transaction commits."""
    refund, _ = Refund.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "order": order,
            "ticket": ticket,
            "amount": amount,
            "payment_intent_id": order.stripe_payment_intent_id,
            "reason": reason,
        },
    )
    enqueue_on_commit(tasks.refund_send, refund.pk)
    return refund


def refund_send(*, refund_id: int) -> Refund:
    """Send a pending refund to Stripe and record what it says; once.

    Safe to run twice, or two at once: Stripe answers a repeated idempotency
    key with the first refund, and only a pending row takes a result.
    """
    refund = Refund.objects.get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:
        return refund
    try:
        stripe_refund_id = payments.refund_create(
            payment_intent_id=refund.payment_intent_id,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            reason=refund.reason,
        )
    except payments.PaymentRefused as error:
        return _refund_record(refund_id, refused=str(error))
    except payments.PaymentsUnavailable as error:
        return _refund_record(refund_id, unreachable=str(error))
    return _refund_record(refund_id, stripe_refund_id=stripe_refund_id)


def _refund_record(
    refund_id: int,
    *,
    stripe_refund_id: str = "",
    refused: str = "",
    unreachable: str = "",
) -> Refund:
    """Stripe's answer, on the row, if no other attempt recorded one first."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != RefundStatus.PENDING:
            return refund
        if unreachable:
            refund.note_unreachable(reason=unreachable)
            return refund
        if refused:
            refund.mark_failed(reason=refused)
            action, data = "workshops.refund.failed", {"reason": refused}
            after_commit(lambda: _tell_staff_refund_refused(refund))
        else:
            refund.mark_succeeded(stripe_refund_id=stripe_refund_id)
            action, data = "workshops.refund.succeeded", {"refund": stripe_refund_id}
        log(
            refund.ticket or refund.order,
            action,
            data={"amount": str(refund.amount), **data},
        )
    return refund


def _tell_staff_refund_refused(refund: Refund) -> None:
    """The buyer was told a refund was asked for: someone must see it through."""
    staff = email_context()["site_settings"]
    if staff is None or not staff.contact_email:
        logger.error("Stripe refused refund %s and no contact email is set", refund.pk)
        return
    send_templated_email(
        template="workshops/emails/refund_refused",
        to=[staff.contact_email],
        context={
            "refund": refund,
            "order": refund.order,
            "admin_url": settings.BASE_URL
            + reverse("workshops_orders:inspect", args=[refund.order_id]),
        },
    )


def refunds_retry() -> dict[str, int]:
    """Send refunds still pending (Stripe was down, or a task was lost)."""
    counts = {"pending": 0, "succeeded": 0, "failed": 0}
    for refund_id in Refund.objects.filter(status=RefundStatus.PENDING).values_list(
        "pk", flat=True
    ):
        status = refund_send(refund_id=refund_id).status
        counts[status] += 1
    return counts


def order_refund_unseated(*, order: Order, payment_intent_id: str) -> Order:
    """Paid too late for seats that have gone: give the money back at once."""
    # Only order_fulfil calls this, with the order's row lock held: the refund is
    # recorded here and sent to Stripe after the commit.
    order.refund_unseated(payment_intent_id=payment_intent_id)
    if order.total > 0 and order.payment_method != PaymentMethod.DEMO:
        refund_request(
            order=order,
            amount=order.total,
            idempotency_key=f"refund-order-{order.reference}",
            reason=f"Order {order.reference} paid after its seats were released",
        )
    log(order, "workshops.order.refunded_no_seats")
    after_commit(
        lambda: send_templated_email(
            template="workshops/emails/order_refunded",
            to=[order.buyer_email],
            context={"order": order, "session": order.session},
        )
    )
    return order
