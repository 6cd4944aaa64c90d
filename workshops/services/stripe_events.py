"""Stripe's webhook events: triggers to fetch the Checkout Session or the invoice
again, once each."""

from collections.abc import Mapping
from typing import Any

from django.db import OperationalError, transaction

from .. import payments
from ..models import Order, StripeEvent
from .invoices import invoice_sync
from .orders import order_sync
from .seats import SessionBusy

HANDLED_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
}
# A group's invoice: paid (by card, ACH, a bank transfer, or marked paid out of
# band in Stripe's dashboard), voided or written off.
INVOICE_EVENTS = {"invoice.paid", "invoice.voided", "invoice.marked_uncollectible"}


class StripeEventDeferred(Exception):
    """The event could not be acted on now; Stripe will send it again."""


def stripe_event_first_time(
    *, event_id: str, event_type: str, order: Order | None
) -> bool:
    """Record a webhook event; False when it has been handled before."""
    _, created = StripeEvent.objects.get_or_create(
        event_id=event_id, defaults={"type": event_type, "order": order}
    )
    return created


def stripe_event_handle(*, event: Mapping[str, Any]) -> Order | None:
    """Act on a verified event once: the order it names, synced with Stripe, or None."""
    # The event is recorded in the same transaction as its effect, so an attempt
    # that fails (StripeEventDeferred) is acted on when Stripe sends it again
    # (docs/conventions.md, "Tickets and payments").
    if event.get("type") in INVOICE_EVENTS:
        stripe_invoice_event_handle(event=event)
        return None
    if event.get("type") not in HANDLED_EVENTS:
        return None
    checkout = (event.get("data") or {}).get("object") or {}
    checkout_id = checkout.get("id") or ""
    order = _order_for_checkout(checkout)
    if not order or not checkout_id.startswith("cs_"):
        return None  # not ours, or long gone: nothing to do
    try:
        with transaction.atomic():
            if stripe_event_first_time(
                event_id=event["id"], event_type=event["type"], order=order
            ):
                order_sync(order=order, checkout_session_id=checkout_id)
    except (SessionBusy, OperationalError, payments.PaymentsUnavailable) as error:
        raise StripeEventDeferred(
            f"Webhook {event.get('id')} deferred for {order}"
        ) from error
    return order


def _order_for_checkout(checkout: Mapping[str, Any]) -> Order | None:
    """By the session's id, or by our reference when our note of the id was lost."""
    orders = Order.objects.select_related("session__workshop", "ticket_type")
    checkout_id = checkout.get("id") or ""
    if checkout_id and (
        order := orders.filter(stripe_checkout_session_id=checkout_id).first()
    ):
        return order
    reference = checkout.get("client_reference_id") or (
        checkout.get("metadata") or {}
    ).get("order")
    return orders.filter(reference=reference).first() if reference else None


def stripe_invoice_event_handle(*, event: Mapping[str, Any]) -> None:
    """An invoice event, once: the invoice fetched again and its request synced."""
    invoice_id = ((event.get("data") or {}).get("object") or {}).get("id") or ""
    if not invoice_id.startswith("in_"):
        return
    try:
        with transaction.atomic():
            if stripe_event_first_time(
                event_id=event["id"], event_type=event["type"], order=None
            ):
                # What the event says may be stale: Stripe's answer now decides.
                invoice_sync(state=payments.invoice_retrieve(invoice_id))
    except (OperationalError, payments.PaymentsUnavailable) as error:
        raise StripeEventDeferred(
            f"Webhook {event.get('id')} deferred for invoice {invoice_id}"
        ) from error
