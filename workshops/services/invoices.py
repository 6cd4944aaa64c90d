"""Group orders by invoice: requested, invoiced through Stripe or paid offline,
and a seat code issued once when the money arrives.

Stripe is never called with a row lock held: issuing an invoice calls Stripe
first (each step with our own idempotency key) and records the answer under the
request's lock afterwards; `invoice.paid` re-fetches the invoice and hands what
Stripe says to `invoice_request_paid`, the one service that records a payment,
whoever reports it (the webhook, staff's refresh, an offline payment, the demo).
"""

import logging
import mimetypes
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import Site

from home.email import Attachment, send_templated_email
from home.models import SiteSettings

from .. import payments
from ..models import (
    InvoiceRequest,
    InvoiceRequestPage,
    InvoiceStatus,
    PaidVia,
    SeatCode,
)
from .codes import seat_code_issue

logger = logging.getLogger(__name__)

DAYS_UNTIL_DUE_MAX = 120
UNIT_PRICE_MAX = Decimal("10000")
# An offline payment entered long after it arrived is most likely a typo.
OFFLINE_PAYMENT_MAX_AGE = timedelta(days=365)


class InvoiceError(Exception):
    """A step staff asked for that cannot be taken, worded for them."""


def _site(page: InvoiceRequestPage | None) -> Site | None:
    site = page.get_site() if page is not None else None
    return site or Site.objects.filter(is_default_site=True).first()


def w9_attachment(site: Site | None) -> Attachment | None:
    """The W-9 from the site settings, if an editor uploaded one."""
    document = SiteSettings.for_site(site).w9_document if site else None
    if document is None:
        return None
    with document.file.open("rb") as handle:
        content = handle.read()
    mimetype = mimetypes.guess_type(document.filename)[0] or "application/pdf"
    return Attachment(filename=document.filename, content=content, mimetype=mimetype)


def invoice_request_create(
    *,
    organisation: str,
    contact_name: str,
    email: str,
    seats: int,
    payment_method: str,
    po_number: str = "",
    w9_wanted: bool = False,
    notes: str = "",
    page: InvoiceRequestPage | None = None,
) -> InvoiceRequest:
    """Store a request, tell staff, and acknowledge it (with the W-9 if asked)."""
    request = InvoiceRequest(
        organisation=organisation,
        contact_name=contact_name,
        email=email,
        seats=seats,
        payment_method=payment_method,
        po_number=po_number,
        w9_wanted=w9_wanted,
        notes=notes,
    )
    request.full_clean()
    site = _site(page)
    staff_address = SiteSettings.for_site(site).contact_email if site else ""
    w9 = w9_attachment(site) if w9_wanted else None
    with transaction.atomic():
        request.save()
        log(request, "workshops.invoicerequest.received")
        context = {
            "invoice_request": request,
            "admin_url": settings.BASE_URL
            + reverse("workshops_invoice_requests:inspect", args=[request.pk]),
        }
        if staff_address:
            send_templated_email(
                template="workshops/emails/invoice_request_staff",
                to=[staff_address],
                reply_to=[request.email],
                context=context,
                site=site,
            )
        else:
            logger.warning(
                "No contact email in the site settings: invoice request %s "
                "reached nobody on staff.",
                request.pk,
            )
        # Fixed wording and the form's own choices only: the address was typed
        # by whoever sent the form.
        send_templated_email(
            template="workshops/emails/invoice_request_received",
            to=[request.email],
            context={
                "seats": request.seats,
                "payment_method": request.get_payment_method_display(),
                "w9_wanted": w9_wanted,
                "w9_attached": w9 is not None,
            },
            attachments=[w9] if w9 else [],
            site=site,
        )
    return request


def invoice_request_issue(
    *, request_id: int, unit_price: Decimal, days_until_due: int, user=None
) -> InvoiceRequest:
    """A Stripe invoice for the request's seats, sent to its billing contact."""
    if not Decimal("0.01") <= unit_price <= UNIT_PRICE_MAX:
        raise InvoiceError(
            f"Give a price per seat between $0.01 and ${UNIT_PRICE_MAX:,}."
        )
    if not 1 <= days_until_due <= DAYS_UNTIL_DUE_MAX:
        raise InvoiceError(f"Give between 1 and {DAYS_UNTIL_DUE_MAX} days to pay.")
    if payments.demo_mode():
        raise InvoiceError(
            "Stripe is not set up (demo mode): record an offline payment or mark "
            "the request paid (demo) instead."
        )
    request = InvoiceRequest.objects.get(pk=request_id)
    if request.status != InvoiceStatus.REQUESTED:
        raise InvoiceError("This request has been invoiced or paid already.")
    # After a void, a corrected invoice: new keys, told apart by the voided
    # invoice's id, and the same Stripe customer.
    voided = request.stripe_invoice_id if request.invoice_voided else ""
    # No lock held while Stripe is called; the idempotency keys make a second
    # attempt (a double click, a retry) find the same invoice.
    state = payments.invoice_send(
        replaces=voided,
        customer_id=request.stripe_customer_id if voided else "",
        reference=request.reference,
        organisation=request.organisation,
        contact_name=request.contact_name,
        email=request.email,
        description=f"Workshop seats: {request.seats} at ${unit_price:,.2f}, "
        "redeemable for one year with a seat code",
        seats=request.seats,
        unit_amount=unit_price,
        days_until_due=days_until_due,
        po_number=request.po_number,
    )
    with transaction.atomic():
        request = InvoiceRequest.objects.select_for_update().get(pk=request_id)
        if request.status != InvoiceStatus.REQUESTED:
            return request  # the other click recorded it
        request.mark_invoiced(
            unit_price=unit_price,
            customer_id=state.customer_id,
            invoice_id=state.id,
            number=state.number,
            invoice_status=state.status,
            hosted_url=state.hosted_url,
            due_on=state.due_at.date() if state.due_at else None,
        )
        log(
            request,
            "workshops.invoicerequest.invoiced",
            user=user,
            data={
                "invoice": state.id,
                "amount": str(request.amount),
                **({"replaces": voided} if voided else {}),
            },
        )
    return request


def invoice_request_paid(
    *,
    request_id: int,
    paid_via: str,
    paid_on: date,
    amount: Decimal | None,
    reference: str = "",
    user=None,
) -> SeatCode:
    """The money for a request arrived on `paid_on`: its one seat code, issued now.

    Safe to call again (a repeated webhook, a refresh, two staff): the request's
    row lock and the code's unique link to it make the second call return the
    first code.
    """
    with transaction.atomic():
        request = InvoiceRequest.objects.select_for_update().get(pk=request_id)
        existing = SeatCode.objects.filter(invoice_request=request).first()
        if existing is not None:
            if paid_via in {PaidVia.CHECK, PaidVia.WIRE}:
                # Money that arrived twice: staff must hear it, not "recorded".
                raise InvoiceError(
                    f"This request was paid already ({request.get_paid_via_display()}"
                    f", {request.paid_on:%-d %B %Y}): nothing was recorded. Refund "
                    "this payment to the buyer."
                )
            return existing
        request.mark_paid(
            paid_via=paid_via, paid_on=paid_on, amount=amount, reference=reference
        )
        log(
            request,
            "workshops.invoicerequest.paid",
            user=user,
            data={
                "via": paid_via,
                "paid_on": paid_on.isoformat(),
                "amount": str(amount) if amount is not None else "",
                "reference": reference,
            },
        )
        return seat_code_issue(
            seats=request.seats,
            paid_on=paid_on,
            buyer_name=request.contact_name,
            buyer_email=request.email,
            organisation=request.organisation,
            invoice_request_id=request.pk,
            user=user,
        )


def invoice_sync(*, state: payments.InvoiceState, user=None) -> InvoiceRequest | None:
    """Bring a request in line with what Stripe says of its invoice now."""
    by_reference = InvoiceRequest.objects.filter(
        pk=_request_pk(state.request_reference)
    )
    request = (
        InvoiceRequest.objects.filter(stripe_invoice_id=state.id).first()
        or by_reference.filter(stripe_invoice_id="").first()
        # Paid, but not the invoice we noted (two sent at once): the money is
        # still this request's, so its code must still be issued.
        or (by_reference.first() if state.paid else None)
    )
    if request is None:
        if state.paid and state.request_reference:
            logger.error(
                "Paid Stripe invoice %s names %s, which matches no request",
                state.id,
                state.request_reference,
            )
        return None
    if state.paid:
        # The day the money arrived, in the site's zone: not the day we heard.
        paid_at = state.paid_at or timezone.now()
        invoice_request_paid(
            request_id=request.pk,
            paid_via=PaidVia.STRIPE,
            paid_on=timezone.localdate(paid_at),
            amount=state.amount_paid,
            reference=state.number
            + (" (paid outside Stripe)" if state.paid_out_of_band else ""),
            user=user,
        )
    elif state.status != request.stripe_invoice_status:
        _invoice_status_note(request_id=request.pk, state=state, user=user)
    request.refresh_from_db()
    return request


def _invoice_status_note(
    *, request_id: int, state: payments.InvoiceState, user=None
) -> None:
    """What Stripe says of an unpaid invoice, on its request, once.

    A voided invoice will never be paid: its request goes back to "requested",
    so staff can issue a corrected one. One marked uncollectible (written off)
    can still be paid in Stripe, so its request stays "invoiced" with the
    status noted: a second invoice would bill the group twice if the first is
    paid after all. Staff who want a new one void it in Stripe first.
    """
    with transaction.atomic():
        locked = InvoiceRequest.objects.select_for_update().get(pk=request_id)
        if locked.status == InvoiceStatus.PAID or (
            locked.stripe_invoice_id == state.id
            and locked.stripe_invoice_status == state.status
        ):
            return  # settled, or this news was noted already
        data = {"from": locked.stripe_invoice_status, "to": state.status}
        if state.voided and locked.stripe_invoice_id in {"", state.id}:
            locked.reopen_after_void(invoice_id=state.id)
            data["request"] = InvoiceStatus.REQUESTED
        elif locked.stripe_invoice_id != state.id:
            return  # an invoice this request no longer goes by
        else:
            locked.note_invoice_status(invoice_status=state.status)
        log(
            locked,
            "workshops.invoicerequest.stripe_status",
            user=user,
            data={"invoice": state.id, **data},
        )


def _request_pk(reference: str) -> int | None:
    prefix = "INV-REQ-"
    if reference.startswith(prefix) and reference[len(prefix) :].isdigit():
        return int(reference[len(prefix) :])
    return None


def invoice_request_refresh(*, request_id: int, user=None) -> InvoiceRequest:
    """Staff ask Stripe for the invoice's status now (a webhook may be late)."""
    request = InvoiceRequest.objects.get(pk=request_id)
    if not request.stripe_invoice_id:
        raise InvoiceError("No Stripe invoice has been sent for this request.")
    return invoice_sync(
        state=payments.invoice_retrieve(request.stripe_invoice_id), user=user
    )


def invoice_request_record_payment(
    *,
    request_id: int,
    paid_via: str,
    amount: Decimal,
    received_on: date,
    reference: str,
    user=None,
    today: date | None = None,
) -> SeatCode:
    """A check or wire arrived: record it, issue the code, and tell Stripe."""
    today = today or timezone.localdate()
    if paid_via not in {PaidVia.CHECK, PaidVia.WIRE}:
        raise InvoiceError("Record a check or a wire transfer.")
    if not Decimal("0.01") <= amount <= UNIT_PRICE_MAX * 1000:
        raise InvoiceError("Give the amount received, in US dollars.")
    if received_on > today:
        raise InvoiceError("The date received cannot be in the future.")
    if received_on < today - OFFLINE_PAYMENT_MAX_AGE:
        raise InvoiceError("The date received is more than a year ago: check it.")
    reference = " ".join(reference.split())
    if not reference:
        raise InvoiceError("Give the check number or the wire's reference.")
    request = InvoiceRequest.objects.get(pk=request_id)
    if request.status == InvoiceStatus.PAID:
        raise InvoiceError("This request is paid already.")
    seat_code = invoice_request_paid(
        request_id=request_id,
        paid_via=paid_via,
        paid_on=received_on,
        amount=amount,
        reference=reference[:200],
        user=user,
    )
    if (
        request.stripe_invoice_id
        and not request.invoice_voided
        and not payments.demo_mode()
    ):
        # After the commit, with no lock: so Stripe stops sending reminders. Its
        # invoice.paid event then finds the code issued already.
        try:
            payments.invoice_mark_paid_out_of_band(request.stripe_invoice_id)
        except payments.PaymentsUnavailable:
            logger.warning(
                "Could not mark Stripe invoice %s paid out of band",
                request.stripe_invoice_id,
            )
    return seat_code


def invoice_request_mark_paid_demo(*, request_id: int, user=None) -> SeatCode:
    """Demo mode's stand-in for Stripe's invoice.paid: the same service records it."""
    if not (settings.DEBUG and payments.demo_mode()):
        raise InvoiceError("Demo payments are only available in a local run.")
    request = InvoiceRequest.objects.get(pk=request_id)
    if request.status == InvoiceStatus.PAID:
        raise InvoiceError("This request is paid already.")
    return invoice_request_paid(
        request_id=request_id,
        paid_via=PaidVia.DEMO,
        paid_on=timezone.localdate(),
        amount=request.amount,
        reference="demo",
        user=user,
    )
