"""The waiting list of a sold-out session, and how long an offered seat is held."""

from datetime import datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting

from .pages import WorkshopSession
from .tickets import Order, PrivateLink, new_secret


@register_setting(icon="time")
class WaitlistSettings(BaseSiteSetting):
    """How long a seat offered to the next person on a waiting list is held."""

    offer_hours = models.PositiveSmallIntegerField(
        "hold an offered seat for (hours)",
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(168)],
        help_text="When a seat frees up, the next person on the waiting list has "
        "this long to take it before it is offered to the person after them.",
    )

    panels = [FieldPanel("offer_hours")]

    class Meta:
        verbose_name = "waiting list"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    OFFERED = "offered", "Offered a seat"
    BOOKED = "booked", "Booked the seat"
    LAPSED = "lapsed", "Offer lapsed"
    LEFT = "left", "Left the list"


ON_THE_LIST = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)


class WaitlistEntryQuerySet(models.QuerySet):
    def for_order(self, order: Order) -> "WaitlistEntry | None":
        """The place on a list whose offer an order is, if it is one."""
        return self.filter(order=order).first()


class WaitlistEntry(PrivateLink, models.Model):
    """One person waiting for a seat in one session, in the order they asked."""

    link_salt = "workshops.waitlist"
    link_related = ("session__workshop", "order")

    session = models.ForeignKey(
        WorkshopSession, on_delete=models.CASCADE, related_name="waitlist"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField()
    secret = models.CharField(max_length=32, default=new_secret, editable=False)
    status = models.CharField(
        max_length=20, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING
    )
    # The offer is an unpaid order holding one seat until `offer_expires_at`,
    # so the ordinary seat count already counts it (docs/notices.md).
    order = models.OneToOneField(
        Order,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="waitlist_entry",
    )
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WaitlistEntryQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "waiting-list entry"
        verbose_name_plural = "waiting list"
        constraints = [
            models.UniqueConstraint(
                fields=["session", "email"],
                condition=Q(status__in=ON_THE_LIST),
                name="workshops_once_on_a_waiting_list",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    # Each change of status, named once; the services check it may happen.

    def mark_offered(self, *, order: Order, now: datetime) -> None:
        """A seat is held for them until the order's hold expires."""
        self.status = WaitlistStatus.OFFERED
        self.order = order
        self.offered_at = now
        self.offer_expires_at = order.hold_expires_at
        self.save()

    def mark_lapsed(self) -> None:
        """They did not take the seat in time: it goes to the next person."""
        self.status = WaitlistStatus.LAPSED
        self.save(update_fields=["status"])

    def mark_booked(self) -> None:
        self.status = WaitlistStatus.BOOKED
        self.save(update_fields=["status"])

    def mark_left(self) -> None:
        self.status = WaitlistStatus.LEFT
        self.save(update_fields=["status"])
