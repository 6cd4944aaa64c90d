"""Seat codes: seats paid for once (an invoice, a cheque) that colleagues redeem.

A code is 20 symbols from the certificates' alphabet (no 0/O, 1/I/L), printed in
five groups of four: log2(31) * 20 ≈ 99 bits, drawn from `secrets`. The row keeps
no readable code: a random seed from which the code is derived with a key from
the settings (SECRET_KEY, and its fallbacks after a rotation), and the SHA-256 of
the code to find it by. A database dump alone gives neither a code nor a way to
guess one; the buyer's emails and private page derive it again.
"""

import hashlib
import secrets
from datetime import date, datetime

from django.conf import settings
from django.db import models
from django.utils.crypto import salted_hmac

from .certificates import CODE_ALPHABET, CODE_GROUP_LENGTH, CODE_GROUPS, format_code
from .tickets import PrivateLink, Ticket, TicketStatus, new_secret

CODE_LENGTH = CODE_GROUPS * CODE_GROUP_LENGTH
_DERIVE_SALT = "workshops.seatcode.derive"


def new_code_seed() -> str:
    return secrets.token_hex(16)


def code_lookup(normalised: str) -> str:
    """What a code is found by: a plain hash is enough for 99 random bits."""
    return hashlib.sha256(normalised.encode()).hexdigest()


def derive_code(seed: str, *, secret: str | None = None) -> str:
    """The code a seed stands for, under one secret key."""
    digest = salted_hmac(
        _DERIVE_SALT, seed, secret=secret or settings.SECRET_KEY, algorithm="sha256"
    ).digest()
    number = int.from_bytes(digest, "big")
    symbols = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        symbols.append(CODE_ALPHABET[index])
    return format_code("".join(symbols))


class SeatCodeQuerySet(models.QuerySet):
    def for_code(self, normalised: str):
        return self.filter(lookup=code_lookup(normalised))

    def with_seats_used(self):
        """Each code's `used` (its valid tickets, as `seats_used`) in the same query,
        for listings: one count per row would be a query per row."""
        counted = self.annotate(
            used=models.Count(
                "orders__tickets",
                filter=models.Q(orders__tickets__status=TicketStatus.VALID),
            )
        )
        # A GROUP BY query leaves Meta.ordering out: keep it, so pages agree.
        if counted.query.order_by:
            return counted
        return counted.order_by(*self.model._meta.ordering, "-pk")


class SeatCode(PrivateLink, models.Model):
    """N seats at 100%, paid once, redeemed seat by seat until it expires."""

    link_salt = "workshops.seatcode"
    link_related = ("workshop", "invoice_request")

    seed = models.CharField(max_length=64, default=new_code_seed, editable=False)
    lookup = models.CharField(max_length=64, unique=True, editable=False)
    # The last group, so staff and buyers can tell codes apart on a screen.
    hint = models.CharField(max_length=CODE_GROUP_LENGTH, editable=False)
    secret = models.CharField(max_length=32, default=new_secret, editable=False)
    seats = models.PositiveIntegerField(help_text="Seats the code admits in all.")
    valid_until = models.DateField(
        help_text="The last day a seat can be redeemed with it."
    )
    paid_on = models.DateField(help_text="When the money arrived.")
    organisation = models.CharField(max_length=200, blank=True)
    buyer_name = models.CharField(max_length=200)
    buyer_email = models.EmailField()
    workshop = models.ForeignKey(
        "workshops.WorkshopPage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="seat_codes",
        help_text="Empty: any workshop.",
    )
    invoice_request = models.OneToOneField(
        "workshops.InvoiceRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="seat_code",
    )
    # A team pack sold as a code (TicketType.issues_code), paid at checkout.
    order = models.OneToOneField(
        "workshops.Order",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issued_seat_code",
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SeatCodeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "seat code"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(seats__gte=1), name="seat_code_has_seats"
            )
        ]

    def __str__(self) -> str:
        who = self.organisation or self.buyer_name
        return f"…{self.hint}: {self.seats} seats for {who}"

    @property
    def code(self) -> str:
        """The code itself, derived again; '' if every key it was made with is gone."""
        for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
            code = derive_code(self.seed, secret=secret)
            if code_lookup(code) == self.lookup:
                return code
        return ""

    def assign_code(self) -> str:
        """A new seed and what it stands for (a new row, or a collision's retry)."""
        self.seed = new_code_seed()
        code = derive_code(self.seed)
        self.lookup = code_lookup(code)
        self.hint = code[-CODE_GROUP_LENGTH:]
        return code

    def redeemed_tickets(self):
        """The seats taken with it that still count: valid tickets."""
        return Ticket.objects.filter(order__seat_code=self, status=TicketStatus.VALID)

    def seats_used(self) -> int:
        return self.redeemed_tickets().count()

    def get_status_display(self, *, today: date | None = None) -> str:
        if self.voided_at:
            return "Voided"
        if today is not None and today > self.valid_until:
            return "Expired"
        return "Active"

    # Each change, named once; the services lock the row, check and log.

    def extend(self, *, valid_until: date) -> None:
        """A later last day, agreed with the buyer."""
        self.valid_until = valid_until
        self.save(update_fields=["valid_until", "updated_at"])

    def add_seats(self, *, seats: int) -> None:
        """More seats on the same code (paid separately, or a goodwill gesture)."""
        self.seats += seats
        self.save(update_fields=["seats", "updated_at"])

    def void(self, *, reason: str, now: datetime) -> None:
        """No more seats may be redeemed; those already taken stay."""
        self.voided_at = now
        self.void_reason = reason
        self.save(update_fields=["voided_at", "void_reason", "updated_at"])
