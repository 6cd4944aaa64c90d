"""Group orders by invoice: the public request page, and the requests staff act on."""

from datetime import date
from decimal import Decimal
from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.http import HttpRequest, HttpResponse
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField

from home.models import BasePage

# The form's bounds on seats: one person, up to a large organisation. Larger
# groups write to us (a private workshop suits them better).
INVOICE_SEATS_MIN = 1
INVOICE_SEATS_MAX = 500


class InvoiceRequestPage(BasePage):
    """Where a group asks for an invoice for seats, paid by card, ACH, wire or check."""

    intro = RichTextField(
        blank=True,
        features=["bold", "italic", "link", "ul"],
        help_text="Above the form: what an invoice covers and what happens next.",
    )
    thank_you_text = RichTextField(
        blank=True,
        features=["bold", "italic", "link"],
        help_text="Shown instead of the form once it is sent. Leave empty for the "
        "standard wording.",
    )

    content_panels: ClassVar[list] = [
        *BasePage.content_panels,
        FieldPanel("intro"),
        FieldPanel("thank_you_text"),
    ]
    # Under the home page: home's content pages list the children they take,
    # and home names no other app's page types but the inquiry form's.
    parent_page_types: ClassVar[list[str]] = ["home.HomePage"]
    subpage_types: ClassVar[list[str]] = []
    max_count = 1

    class Meta:
        verbose_name = "invoice request page"

    def serve(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Imported here: the view imports the forms and services, which import
        # these models.
        from ..views.invoices import serve_invoice_request_page

        return serve_invoice_request_page(request, page=self)


class InvoicePaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    ACH = "ach", "US bank account (ACH)"
    WIRE = "wire", "SWIFT wire transfer"
    CHECK = "check", "Check"


class InvoiceStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    INVOICED = "invoiced", "Invoice sent"
    PAID = "paid", "Paid"


class PaidVia(models.TextChoices):
    STRIPE = "stripe", "Stripe invoice"
    CHECK = "check", "Check"
    WIRE = "wire", "Wire transfer"
    DEMO = "demo", "Demo (no payment)"


class InvoiceRequest(models.Model):
    """A group's request for an invoice, what staff did with it, and the payment."""

    organisation = models.CharField(max_length=200)
    contact_name = models.CharField("billing contact", max_length=200)
    email = models.EmailField("billing email", max_length=254)
    seats = models.PositiveIntegerField(
        validators=[
            MinValueValidator(INVOICE_SEATS_MIN),
            MaxValueValidator(INVOICE_SEATS_MAX),
        ]
    )
    po_number = models.CharField("PO number", max_length=100, blank=True)
    payment_method = models.CharField(
        "preferred payment method",
        max_length=10,
        choices=InvoicePaymentMethod.choices,
    )
    w9_wanted = models.BooleanField("W-9 wanted", default=False)
    notes = models.TextField(max_length=2000, blank=True)
    status = models.CharField(
        max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.REQUESTED
    )
    unit_price = models.DecimalField(
        "price per seat (USD)", max_digits=8, decimal_places=2, null=True, blank=True
    )
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_invoice_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_invoice_number = models.CharField(max_length=100, blank=True)
    stripe_invoice_status = models.CharField(max_length=30, blank=True)
    stripe_invoice_url = models.URLField(max_length=2000, blank=True)
    due_on = models.DateField(null=True, blank=True)
    paid_via = models.CharField(max_length=10, choices=PaidVia.choices, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    amount_received = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True
    )
    payment_reference = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "invoice request"

    def __str__(self) -> str:
        return f"{self.organisation}: {self.seats} seats ({self.created_at:%d %b %Y})"

    @property
    def reference(self) -> str:
        return f"INV-REQ-{self.pk}"

    @property
    def amount(self) -> Decimal | None:
        return None if self.unit_price is None else self.unit_price * self.seats

    def seat_code_display(self) -> str:
        seat_code = getattr(self, "seat_code", None)
        return str(seat_code) if seat_code else "None yet"

    seat_code_display.short_description = "Seat code"

    # Each change of status, named once; the services lock the row, check, log.

    def mark_invoiced(
        self,
        *,
        unit_price: Decimal,
        customer_id: str,
        invoice_id: str,
        number: str,
        invoice_status: str,
        hosted_url: str,
        due_on: date | None,
    ) -> None:
        """A Stripe invoice is out: the buyer pays it by the way they choose."""
        self.status = InvoiceStatus.INVOICED
        self.unit_price = unit_price
        self.stripe_customer_id = customer_id
        self.stripe_invoice_id = invoice_id
        self.stripe_invoice_number = number
        self.stripe_invoice_status = invoice_status
        self.stripe_invoice_url = hosted_url
        self.due_on = due_on
        self.save()

    @property
    def invoice_voided(self) -> bool:
        """Stripe voided the last invoice sent: a corrected one may be issued."""
        return bool(self.stripe_invoice_id) and self.stripe_invoice_status == "void"

    def reopen_after_void(self, *, invoice_id: str) -> None:
        """Stripe's invoice was voided: the request waits for a corrected one.

        The voided invoice stays noted (staff see it; the next one's
        idempotency keys are told apart by its id) until another is sent.
        """
        self.status = InvoiceStatus.REQUESTED
        self.stripe_invoice_id = invoice_id
        self.stripe_invoice_status = "void"
        self.save()

    def note_invoice_status(self, *, invoice_status: str) -> None:
        """What Stripe says of the invoice now (open, void, uncollectible...)."""
        self.stripe_invoice_status = invoice_status
        self.save(update_fields=["stripe_invoice_status", "updated_at"])

    def mark_paid(
        self,
        *,
        paid_via: str,
        paid_on: date,
        amount: Decimal | None,
        reference: str,
    ) -> None:
        """The money arrived, on `paid_on`: a seat code is due."""
        self.status = InvoiceStatus.PAID
        self.paid_via = paid_via
        self.paid_on = paid_on
        self.amount_received = amount
        self.payment_reference = reference
        if paid_via == PaidVia.STRIPE:
            self.stripe_invoice_status = "paid"
        self.save()
