"""Every call to Stripe goes through here, with the official `stripe` client.

Services get plain data back (`CheckoutState`), never Stripe objects, so the rest
of the code does not depend on the client's types. STRIPE_API_BASE points the
client at another host: a local stand-in in the tests.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache

import stripe
from django.conf import settings
from django.utils import timezone

# Stripe refuses an expiry under 30 minutes and one of exactly 30 can fail at the
# boundary by the time the request arrives.
CHECKOUT_LIFETIME = timedelta(minutes=31)
# Nor will it keep one open more than 24 hours; a minute less allows for our
# clock running ahead of Stripe's.
CHECKOUT_MAX_LIFETIME = timedelta(hours=24) - timedelta(minutes=1)
# Our hold outlives the Checkout Session a little, so a payment completed in its
# last second still finds its seats while the webhook is on its way.
HOLD_GRACE = timedelta(minutes=10)

StripeError = stripe.StripeError
SignatureVerificationError = stripe.SignatureVerificationError


class PaymentsUnavailable(Exception):
    """Stripe could not be reached or refused the request."""


class PaymentRefused(PaymentsUnavailable):
    """Stripe answered and said no (a bad request, a card's refusal): retrying the
    same request will not help."""


@dataclass(frozen=True)
class CheckoutState:
    """What we need to know about a Checkout Session, as Stripe says now."""

    id: str
    url: str
    status: str  # open, complete, expired
    payment_status: str  # paid, unpaid, no_payment_required
    client_reference_id: str
    payment_intent_id: str
    payment_intent_status: str  # processing, succeeded, requires_payment_method...
    expires_at: datetime | None

    @property
    def paid(self) -> bool:
        return self.status == "complete" and self.payment_status in {
            "paid",
            "no_payment_required",
        }

    @property
    def processing(self) -> bool:
        return (
            self.status == "complete"
            and self.payment_status == "unpaid"
            and self.payment_intent_status in {"processing", ""}
        )

    @property
    def failed(self) -> bool:
        return (
            self.status == "complete"
            and self.payment_status == "unpaid"
            and self.payment_intent_status in {"requires_payment_method", "canceled"}
        )

    @property
    def expired(self) -> bool:
        return self.status == "expired"

    @property
    def open(self) -> bool:
        """Not paid yet, and can still be."""
        return self.status == "open"


def demo_mode() -> bool:
    """Without a Stripe key, checkout completes orders locally (DEBUG only)."""
    return not settings.STRIPE_SECRET_KEY


# Short, so a slow Stripe never holds a request for long (no Stripe call is made
# with a row lock held; refunds go out from a task); the client's default is 80
# seconds. Retries reuse the idempotency key.
STRIPE_TIMEOUT = 10


@cache
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=STRIPE_TIMEOUT),
    )


def client() -> stripe.StripeClient:
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


@dataclass(frozen=True)
class CheckoutLine:
    """One line of a Checkout Session: a session's tickets."""

    name: str
    description: str
    unit_amount: Decimal
    quantity: int


def checkout_idempotency_key(*, reference: str, replaces: str = "") -> str:
    """The key of an order's Checkout Session (`replaces`: the expired one before)."""
    return f"checkout-{reference}" + (f"-after-{replaces}" if replaces else "")


def checkout_expiry(*, ends: datetime, now: datetime) -> datetime:
    """When a Checkout Session asked for at `now` to end at `ends` can end: kept
    within what Stripe allows."""
    return min(max(ends, now + CHECKOUT_LIFETIME), now + CHECKOUT_MAX_LIFETIME)


def checkout_session_create(
    *,
    reference: str,
    lines: list[CheckoutLine],
    customer_email: str,
    success_url: str,
    cancel_url: str,
    expires_at: datetime | None = None,
    replaces: str = "",
    now: datetime | None = None,
) -> CheckoutState:
    """A Checkout Session for one order, a line per session; never two at once.

    `expires_at`, when given, is sent as it is: a retry under the same key
    must send the same one, so the caller fixes it once (`checkout_expiry`);
    Stripe's shortest when not given. `replaces` names the order's earlier
    session, expired, when a fresh one is made: its own idempotency key,
    reused by a repeated click.
    """
    now = now or timezone.now()
    expires_at = expires_at or now + CHECKOUT_LIFETIME
    key = checkout_idempotency_key(reference=reference, replaces=replaces)
    try:
        session = client().v1.checkout.sessions.create(
            {
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": line.quantity,
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": to_cents(line.unit_amount),
                            "product_data": {
                                "name": line.name,
                                "description": line.description,
                            },
                        },
                    }
                    for line in lines
                ],
                "customer_email": customer_email,
                "client_reference_id": reference,
                "metadata": {"order": reference},
                "payment_intent_data": {"metadata": {"order": reference}},
                "expires_at": int(expires_at.timestamp()),
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            # Our own key: when the client retries after a network error, Stripe
            # returns the session it already made instead of a second one. (The
            # client's random default would differ on each of our calls.)
            {"idempotency_key": key},
        )
    except stripe.StripeError as error:
        raise PaymentsUnavailable(str(error)) from error
    return _state(session)


def checkout_session_retrieve(session_id: str) -> CheckoutState:
    try:
        session = client().v1.checkout.sessions.retrieve(
            session_id, {"expand": ["payment_intent"]}
        )
    except stripe.StripeError as error:
        raise PaymentsUnavailable(str(error)) from error
    return _state(session)


def checkout_session_expire(session_id: str) -> CheckoutState:
    """Close an open Checkout Session so it can no longer be paid."""
    try:
        session = client().v1.checkout.sessions.expire(session_id)
    except stripe.InvalidRequestError:
        # Already complete or expired: what it is now decides what we do.
        return checkout_session_retrieve(session_id)
    except stripe.StripeError as error:
        raise PaymentsUnavailable(str(error)) from error
    return _state(session)


def refund_create(
    *, payment_intent_id: str, amount: Decimal, idempotency_key: str, reason: str
) -> str:
    """Refund part or all of a payment; returns the refund's id."""
    try:
        refund = client().v1.refunds.create(
            {
                "payment_intent": payment_intent_id,
                "amount": to_cents(amount),
                "metadata": {"reason": reason},
            },
            {"idempotency_key": idempotency_key},
        )
    except (stripe.InvalidRequestError, stripe.CardError) as error:
        raise PaymentRefused(error.user_message or str(error)) from error
    except stripe.StripeError as error:
        raise PaymentsUnavailable(str(error)) from error
    return refund.id


@dataclass(frozen=True)
class InvoiceState:
    """What we need to know about a Stripe invoice, as Stripe says now."""

    id: str
    customer_id: str
    number: str
    status: str  # draft, open, paid, void, uncollectible
    hosted_url: str
    amount_paid: Decimal
    paid_out_of_band: bool
    # When the money arrived (status_transitions.paid_at), for a paid invoice.
    paid_at: datetime | None
    due_at: datetime | None
    request_reference: str

    @property
    def paid(self) -> bool:
        return self.status == "paid"

    @property
    def voided(self) -> bool:
        return self.status == "void"


# Card, US bank account (ACH) and bank transfer into the customer's balance (a
# wire to the virtual account number Stripe prints on the invoice).
INVOICE_PAYMENT_SETTINGS = {
    "payment_method_types": ["card", "us_bank_account", "customer_balance"],
    "payment_method_options": {
        "customer_balance": {
            "funding_type": "bank_transfer",
            "bank_transfer": {"type": "us_bank_transfer"},
        }
    },
}


def invoice_send(
    *,
    reference: str,
    organisation: str,
    contact_name: str,
    email: str,
    description: str,
    seats: int,
    unit_amount: Decimal,
    days_until_due: int,
    po_number: str = "",
    replaces: str = "",
    customer_id: str = "",
) -> InvoiceState:
    """A customer, an invoice with one line, finalised and emailed by Stripe.

    Each step carries our own idempotency key (`<reference>-<amount>-<step>`), so
    a retry after a network error or a second click finds the objects the first
    attempt made instead of billing twice. A corrected invoice after a void
    names the voided one (`replaces`): new keys for a new invoice, the same
    keys for each click of that attempt; it goes to the same customer.
    """
    attempt = f"-after-{replaces}" if replaces else ""
    key = f"{reference}{attempt}-{seats}x{to_cents(unit_amount)}"
    metadata = {"invoice_request": reference}
    api = client().v1
    try:
        if not customer_id:
            customer_id = api.customers.create(
                {
                    "name": organisation,
                    "email": email,
                    "description": f"Billing contact: {contact_name}",
                    "metadata": metadata,
                },
                {"idempotency_key": f"{key}-customer"},
            ).id
        fields = [{"name": "PO number", "value": po_number}] if po_number else []
        invoice = api.invoices.create(
            {
                "customer": customer_id,
                "collection_method": "send_invoice",
                "days_until_due": days_until_due,
                "currency": "usd",
                "auto_advance": False,
                "pending_invoice_items_behavior": "exclude",
                "payment_settings": INVOICE_PAYMENT_SETTINGS,
                "custom_fields": fields,
                "metadata": metadata,
            },
            {"idempotency_key": f"{key}-invoice"},
        )
        api.invoice_items.create(
            {
                "customer": customer_id,
                "invoice": invoice.id,
                "description": description,
                "quantity": seats,
                "unit_amount_decimal": str(to_cents(unit_amount)),
                "currency": "usd",
                "metadata": metadata,
            },
            {"idempotency_key": f"{key}-item"},
        )
        api.invoices.finalize_invoice(
            invoice.id, {}, {"idempotency_key": f"{key}-finalize"}
        )
        sent = api.invoices.send_invoice(
            invoice.id, {}, {"idempotency_key": f"{key}-send"}
        )
    except (stripe.InvalidRequestError, stripe.CardError) as error:
        raise PaymentRefused(error.user_message or str(error)) from error
    except stripe.StripeError as error:
        raise PaymentsUnavailable(str(error)) from error
    return _invoice_state(sent)


def invoice_retrieve(invoice_id: str) -> InvoiceState:
    try:
        invoice = client().v1.invoices.retrieve(invoice_id)
    except stripe.StripeError as error:
        raise PaymentsUnavailable(str(error)) from error
    return _invoice_state(invoice)


def invoice_mark_paid_out_of_band(invoice_id: str) -> InvoiceState:
    """A check or wire settled it outside Stripe: stop Stripe's reminders."""
    try:
        invoice = client().v1.invoices.pay(
            invoice_id,
            {"paid_out_of_band": True},
            {"idempotency_key": f"{invoice_id}-paid-out-of-band"},
        )
    except stripe.InvalidRequestError:
        # Paid or voided already: what it is now is what we report.
        return invoice_retrieve(invoice_id)
    except stripe.StripeError as error:
        raise PaymentsUnavailable(str(error)) from error
    return _invoice_state(invoice)


def _timestamp(value) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _invoice_state(stripe_invoice) -> InvoiceState:
    invoice = stripe_invoice.to_dict()
    customer = invoice.get("customer")
    transitions = invoice.get("status_transitions") or {}
    return InvoiceState(
        id=invoice["id"],
        customer_id=customer
        if isinstance(customer, str)
        else (customer or {}).get("id", ""),
        number=invoice.get("number") or "",
        status=invoice.get("status") or "",
        hosted_url=invoice.get("hosted_invoice_url") or "",
        amount_paid=Decimal(invoice.get("amount_paid") or 0) / 100,
        paid_out_of_band=bool(invoice.get("paid_out_of_band")),
        paid_at=_timestamp(transitions.get("paid_at")),
        due_at=_timestamp(invoice.get("due_date")),
        request_reference=(invoice.get("metadata") or {}).get("invoice_request", ""),
    )


def webhook_event(payload: bytes, signature: str) -> dict:
    """The event Stripe signed, as plain data.

    Raises SignatureVerificationError for a bad signature, ValueError for a body
    that is not JSON.
    """
    event = client().construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    return event.to_dict()


def _state(stripe_session) -> CheckoutState:
    session = stripe_session.to_dict()
    intent = session.get("payment_intent")
    if isinstance(intent, str) or intent is None:
        intent_id, intent_status = intent or "", ""
    else:
        intent_id, intent_status = intent.get("id", ""), intent.get("status", "")
    expires_at = session.get("expires_at")
    return CheckoutState(
        id=session["id"],
        url=session.get("url") or "",
        status=session.get("status") or "",
        payment_status=session.get("payment_status") or "",
        client_reference_id=session.get("client_reference_id") or "",
        payment_intent_id=intent_id,
        payment_intent_status=intent_status,
        expires_at=datetime.fromtimestamp(expires_at, tz=UTC) if expires_at else None,
    )
