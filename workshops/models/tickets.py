"""Ticket types editors sell, and the orders and tickets buyers make."""

import secrets
from datetime import datetime
from decimal import Decimal

from django.core import signing
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel

# Letters and digits that cannot be mistaken for one another when read aloud.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def new_order_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


def new_secret() -> str:
    return secrets.token_urlsafe(18)


class TicketTypeQuerySet(models.QuerySet):
    def on_sale(self, *, now: datetime | None = None):
        now = now or timezone.now()
        return self.filter(
            Q(sale_starts_at__isnull=True) | Q(sale_starts_at__lte=now),
            Q(sale_ends_at__isnull=True) | Q(sale_ends_at__gt=now),
            active=True,
        )


class TicketType(models.Model):
    """Something a buyer can choose at checkout: one seat, or a pack of seats."""

    name = models.CharField(
        max_length=100, help_text="As buyers see it: 'Standard seat', 'Team of five'."
    )
    description = models.CharField(
        max_length=250,
        blank=True,
        help_text="One line under the name at checkout.",
    )
    price = models.DecimalField(
        "price (USD)",
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="For one ticket of this type, in US dollars.",
    )
    seats_per_ticket = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="How many people one ticket admits. A team pack might be 5.",
    )
    max_per_order = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="The most tickets of this type one order may hold.",
    )
    workshops = models.ManyToManyField(
        "workshops.WorkshopPage",
        related_name="ticket_types",
        help_text="The workshops this ticket type is sold for.",
    )
    sale_starts_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: on sale from now."
    )
    sale_ends_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: on sale until the session starts."
    )
    active = models.BooleanField(
        default=True, help_text="Untick to stop selling without deleting it."
    )
    issues_code = models.BooleanField(
        "sold as a seat code",
        default=False,
        help_text="The buyer names nobody: once paid, they get a seat code for "
        "its seats, which colleagues redeem on any date of the workshop within a "
        "year.",
    )

    objects = TicketTypeQuerySet.as_manager()

    panels = [
        FieldRowPanel([FieldPanel("name"), FieldPanel("price")]),
        FieldPanel("description"),
        FieldRowPanel([FieldPanel("seats_per_ticket"), FieldPanel("max_per_order")]),
        FieldPanel("issues_code"),
        FieldPanel("workshops"),
        MultiFieldPanel(
            [
                FieldRowPanel(
                    [FieldPanel("sale_starts_at"), FieldPanel("sale_ends_at")]
                ),
                FieldPanel("active"),
            ],
            heading="Sale window",
        ),
    ]

    class Meta:
        ordering = ["price", "name"]

    def __str__(self) -> str:
        return f"{self.name} (${self.price})"


class PrivateLink:
    """A private address part for a row: its id and secret, signed, not guessable."""

    link_salt: str
    # What the page reached through the link shows beside the row.
    link_related: tuple[str, ...] = ()

    @property
    def token(self) -> str:
        return signing.Signer(salt=self.link_salt).sign_object(
            [self.pk, self.secret], compress=True
        )

    @classmethod
    def from_token(cls, token: str):
        """The row a token names, or None for a forged, altered or stale one."""
        try:
            pk, secret = signing.Signer(salt=cls.link_salt).unsign_object(token)
        except (signing.BadSignature, ValueError, TypeError):
            return None
        found = cls.objects.filter(pk=pk).select_related(*cls.link_related).first()
        return found if found and secrets.compare_digest(found.secret, secret) else None


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Awaiting payment"
    PROCESSING = "processing", "Payment processing"
    PAID = "paid", "Paid"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Payment failed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


class PaymentMethod(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    DEMO = "demo", "Demo (no payment)"
    FREE = "free", "Free"
    CODE = "code", "Seat code"


class Order(PrivateLink, models.Model):
    """One checkout: a buyer, a session, some tickets, one payment."""

    link_salt = "workshops.order"
    link_related = ("session__workshop", "ticket_type")

    reference = models.CharField(
        max_length=12, unique=True, default=new_order_reference
    )
    secret = models.CharField(max_length=32, default=new_secret, editable=False)
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    session = models.ForeignKey(
        "workshops.WorkshopSession", on_delete=models.PROTECT, related_name="orders"
    )
    ticket_type = models.ForeignKey(
        TicketType, on_delete=models.PROTECT, related_name="orders"
    )
    quantity = models.PositiveSmallIntegerField()
    unit_price = models.DecimalField(max_digits=8, decimal_places=2)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    buyer_name = models.CharField(max_length=200)
    buyer_email = models.EmailField()
    buyer_time_zone = models.CharField(max_length=64)
    # A keyed hash of the address the order came from (never the address): how
    # unpaid seats are bounded per client while they wait for payment.
    client_key = models.CharField(max_length=64, blank=True, editable=False)
    # The order a buyer who left Checkout made again from this one ("Return to
    # payment"): a second press finds it rather than holding the seats twice.
    rebooked_as = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="rebooked_from",
    )
    payment_method = models.CharField(
        max_length=10, choices=PaymentMethod.choices, default=PaymentMethod.STRIPE
    )
    # The code that paid for its seats (payment_method CODE), redeemed at checkout.
    seat_code = models.ForeignKey(
        "workshops.SeatCode",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    # Seats stay held until then; None while a payment is processing.
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    stripe_checkout_session_id = models.CharField(max_length=255, blank=True)
    stripe_checkout_url = models.URLField(max_length=2000, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    refunded_amount = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["stripe_checkout_session_id"]),
            models.Index(fields=["status", "hold_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"Order {self.reference}"

    @property
    def seats(self) -> int:
        return self.quantity * self.ticket_type.seats_per_ticket

    def get_refunds_display(self) -> str:
        return refunds_display(self.refunds.all())

    def booked(self) -> list[tuple[models.Model, int]]:
        """Each session bought and how many tickets for it, by date (one line each).

        Orders made before lines existed have one: their session and quantity.
        """
        lines = [
            (line.session, line.quantity)
            for line in self.lines.select_related("session__workshop").order_by(
                "session__starts_at", "session_id"
            )
        ]
        return lines or [(self.session, self.quantity)]

    # Each change of status, named once. The services check that it may happen,
    # under the order's row lock, and log it.

    def mark_paid(
        self, *, payment_method: str, payment_intent_id: str, now: datetime
    ) -> None:
        """Paid: the seats are the buyer's, and the hold is over."""
        self.status = OrderStatus.PAID
        self.payment_method = payment_method
        self.stripe_payment_intent_id = payment_intent_id
        self.paid_at = now
        self.hold_expires_at = None
        self.save()
        self.tickets.confirm()

    def mark_processing(self, *, payment_intent_id: str) -> None:
        """A payment that settles later: the seats stay held until it does."""
        self.status = OrderStatus.PROCESSING
        self.stripe_payment_intent_id = payment_intent_id
        self.hold_expires_at = None
        self.save()

    def release(self, *, status: str) -> None:
        """Not to be paid (expired, failed, cancelled): the seats are free again."""
        self.status = status
        self.hold_expires_at = None
        self.save()
        self.tickets.release()

    def refund_unseated(self, *, payment_intent_id: str) -> None:
        """Paid after its seats had gone: all of it given back, no seat held."""
        self.status = OrderStatus.REFUNDED
        self.refunded_amount = self.total
        self.stripe_payment_intent_id = payment_intent_id
        self.save()
        self.tickets.release()

    def ticket_cancelled(self, *, refunded: Decimal, refund: bool) -> None:
        """One seat given up; with the last one the order is refunded or cancelled."""
        self.refunded_amount += refunded
        if not self.tickets.filter(status=TicketStatus.VALID).exists():
            self.status = OrderStatus.REFUNDED if refund else OrderStatus.CANCELLED
        self.save()


class OrderLine(models.Model):
    """One session in an order, and how many tickets of the order's type for it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    session = models.ForeignKey(
        "workshops.WorkshopSession", on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "session"], name="one_line_per_session"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.session}"


class TicketStatus(models.TextChoices):
    RESERVED = "reserved", "Reserved (awaiting payment)"
    VALID = "valid", "Valid"
    RELEASED = "released", "Released (not paid)"
    CANCELLED = "cancelled", "Cancelled"


class TicketQuerySet(models.QuerySet):
    def holding_seats(self, *, now: datetime | None = None):
        """Tickets that occupy a seat: paid, or reserved by an unexpired hold."""
        return self.filter(seat_holding_q(now=now))

    def confirm(self) -> int:
        """The order is paid: every seat not cancelled is valid."""
        return self.exclude(status=TicketStatus.CANCELLED).update(
            status=TicketStatus.VALID
        )

    def release(self) -> int:
        """The order will not be paid: reserved seats are released."""
        return self.filter(status=TicketStatus.RESERVED).update(
            status=TicketStatus.RELEASED
        )

    def mark_attended(self) -> int:
        """Staff saw them at the session."""
        return self.update(attended=True, updated_at=timezone.now())

    def mark_absent(self) -> int:
        """Staff did not see them at the session."""
        return self.update(attended=False, updated_at=timezone.now())


def seat_holding_q(*, now: datetime | None = None, prefix: str = "") -> Q:
    """Tickets that occupy a seat; `prefix` reaches them through a relation."""
    now = now or timezone.now()
    return Q(**{f"{prefix}status": TicketStatus.VALID}) | Q(
        Q(**{f"{prefix}order__status": OrderStatus.PROCESSING})
        | Q(
            **{
                f"{prefix}order__status": OrderStatus.PENDING,
                f"{prefix}order__hold_expires_at__gt": now,
            }
        ),
        **{f"{prefix}status": TicketStatus.RESERVED},
    )


class Ticket(PrivateLink, models.Model):
    """One seat in one session, for one attendee."""

    link_salt = "workshops.ticket"
    link_related = ("order", "session__workshop")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tickets")
    session = models.ForeignKey(
        "workshops.WorkshopSession", on_delete=models.PROTECT, related_name="tickets"
    )
    attendee_name = models.CharField(max_length=200)
    attendee_email = models.EmailField()
    status = models.CharField(
        max_length=20, choices=TicketStatus.choices, default=TicketStatus.RESERVED
    )
    secret = models.CharField(max_length=32, default=new_secret, editable=False)
    refunded_amount = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0")
    )
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    # None until staff record the session's attendance.
    attended = models.BooleanField(null=True, blank=True, default=None)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["order", "pk"]
        indexes = [models.Index(fields=["session", "status"])]

    def __str__(self) -> str:
        return f"{self.attendee_name} ({self.order.reference})"

    def get_refunds_display(self) -> str:
        return refunds_display(self.refunds.all())

    def cancel(self, *, refunded: Decimal) -> None:
        """The seat is given up, with what of its price was refunded."""
        self.status = TicketStatus.CANCELLED
        self.refunded_amount = refunded
        self.save()


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending (to be sent to Stripe)"
    SUCCEEDED = "succeeded", "Refunded"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    """Money to give back through Stripe: recorded with the change, sent after it.

    Stripe is called once the change has committed, with no lock held, so a slow
    Stripe never keeps a buyer waiting for a seat; the idempotency key makes a
    second attempt return the first refund.
    """

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refunds",
    )
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    payment_intent_id = models.CharField(max_length=255)
    idempotency_key = models.CharField(max_length=100, unique=True)
    reason = models.CharField(max_length=255)
    status = models.CharField(
        max_length=20, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    # Why the last attempt did not succeed, as Stripe or the network said.
    failure = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return (
            f"${self.amount:,.2f}: {self.get_status_display()}"
            + (f" ({self.stripe_refund_id})" if self.stripe_refund_id else "")
            + (f": {self.failure}" if self.failure else "")
        )

    # Each change of status, named once; refunds_send checks it is still pending.

    def mark_succeeded(self, *, stripe_refund_id: str) -> None:
        """Stripe accepted it: the money is on its way back."""
        self.status = RefundStatus.SUCCEEDED
        self.stripe_refund_id = stripe_refund_id
        self.failure = ""
        self.attempts += 1
        self.save()
        if self.ticket_id:
            Ticket.objects.filter(pk=self.ticket_id).update(
                stripe_refund_id=stripe_refund_id
            )

    def mark_failed(self, *, reason: str) -> None:
        """Stripe refused it: staff must settle it another way."""
        self.status = RefundStatus.FAILED
        self.failure = reason
        self.attempts += 1
        self.save()

    def note_unreachable(self, *, reason: str) -> None:
        """Stripe could not be reached: still pending, tried again later."""
        self.failure = reason
        self.attempts += 1
        self.save()


def refunds_display(refunds) -> str:
    """Refunds as staff read them on an order's or a ticket's page."""
    return "; ".join(str(refund) for refund in refunds) or "None"


class StripeEvent(models.Model):
    """A Stripe webhook event we have acted on; each is acted on once."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
