"""The waiting list: join a sold-out session; a freed seat is offered, then held.

An offer is an ordinary unpaid order of one seat whose hold lasts the offer's
time (`WaitlistSettings.offer_hours`), made under the session's lock after the
seats are counted, so the seat count everyone uses already counts it and no
offer, checkout or move can oversell. See docs/notices.md, "Waiting list".
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import Site

from home.email import send_templated_email

from .. import payments
from ..models import (
    Order,
    OrderStatus,
    PaymentMethod,
    SessionStatus,
    Ticket,
    TicketType,
    WaitlistEntry,
    WaitlistSettings,
    WaitlistStatus,
)
from ..models.tickets import seat_holding_q
from .emails import absolute
from .lines import order_add_lines_and_tickets
from .orders import Attendee, order_checkout_close, order_fulfil
from .seats import BOOKABLE, lock_session, seats_taken


class WaitlistError(Exception):
    """A reason to refuse a waiting-list action, worded for the visitor."""


def waitlist_url(entry: WaitlistEntry) -> str:
    """The private page of one place on a waiting list: take the seat, or leave."""
    return absolute(reverse("workshops:waitlist_entry", args=[entry.token]))


def offer_hours() -> int:
    site = Site.objects.filter(is_default_site=True).first()
    return WaitlistSettings.for_site(site).offer_hours if site else 24


def waitlist_join(*, session_id: int, name: str, email: str) -> WaitlistEntry:
    """Put someone on a sold-out session's waiting list (once), and tell them so."""
    email = email.strip().lower()
    now = timezone.now()
    with transaction.atomic():
        session = lock_session(session_id)
        if (
            not session.workshop.live
            or session.status not in {*BOOKABLE, SessionStatus.SOLD_OUT}
            or session.local_start <= now
        ):
            raise WaitlistError("This session has no waiting list.")
        existing = WaitlistEntry.objects.filter(
            session=session,
            email=email,
            status__in=(WaitlistStatus.WAITING, WaitlistStatus.OFFERED),
        ).first()
        if existing:
            # Asked twice: the same place, and no second email.
            return existing
        free = session.effective_capacity - seats_taken(session.pk, now=now)
        if free > 0 and session.status != SessionStatus.SOLD_OUT:
            raise WaitlistError("This session has seats left: book one now.")
        try:
            with transaction.atomic():
                entry = WaitlistEntry.objects.create(
                    session=session, name=name.strip(), email=email
                )
        except IntegrityError:
            return WaitlistEntry.objects.get(
                session=session,
                email=email,
                status__in=(WaitlistStatus.WAITING, WaitlistStatus.OFFERED),
            )
        log(entry, "workshops.waitlist.joined", data={"session": session.pk})
        send_templated_email(
            template="workshops/emails/waitlist_joined",
            to=[entry.email],
            context={"entry": entry, "session": session, "url": waitlist_url(entry)},
        )
    return entry


def session_waitlist_offer(
    *, session_id: int, now: datetime | None = None
) -> list[WaitlistEntry]:
    """Offer each free seat of a session to the next person waiting. Idempotent.

    Lapsed offers pass on first. Safe to call at any time and from anywhere (a
    cancellation, an expired hold, a raised capacity, a periodic job): it counts
    under the session's lock, so concurrent calls never offer one seat twice.
    """
    now = now or timezone.now()
    hours = offer_hours()
    with transaction.atomic():
        session = lock_session(session_id)
        _lapse_offers(session_id=session.pk, now=now)
        if (
            not session.workshop.live
            or session.status not in {*BOOKABLE, SessionStatus.SOLD_OUT}
            or session.local_start <= now
        ):
            return []
        free = session.effective_capacity - seats_taken(session.pk, now=now)
        if free <= 0:
            return []
        ticket_type = _offer_ticket_type(session.workshop_id, now=now)
        if ticket_type is None:
            return []
        waiting = list(
            WaitlistEntry.objects.select_for_update()
            .filter(session=session, status=WaitlistStatus.WAITING)
            .order_by("created_at", "pk")[:free]
        )
        for entry in waiting:
            order = Order.objects.create(
                session=session,
                ticket_type=ticket_type,
                quantity=1,
                unit_price=ticket_type.price,
                total=ticket_type.price,
                buyer_name=entry.name,
                buyer_email=entry.email,
                buyer_time_zone=session.time_zone,
                payment_method=_payment_method(ticket_type),
                hold_expires_at=now + timedelta(hours=hours),
            )
            # Its line and its reserved ticket, as checkout makes them.
            order_add_lines_and_tickets(
                order=order,
                lines=[(session.pk, 1)],
                sessions={session.pk: session},
                seats_per_ticket=1,
                attendees=[Attendee(entry.name, entry.email)],
            )
            entry.mark_offered(order=order, now=now)
            log(entry, "workshops.waitlist.offered", data={"order": order.reference})
    for entry in waiting:
        send_templated_email(
            template="workshops/emails/waitlist_offer",
            to=[entry.email],
            context={
                "entry": entry,
                "session": session,
                "url": waitlist_url(entry),
                "hours": hours,
            },
        )
    return waiting


def _lapse_offers(*, session_id: int, now: datetime) -> None:
    """Offers whose seat is no longer held for them: over, and the seat free."""
    offered = (
        WaitlistEntry.objects.select_for_update(of=("self",))
        .filter(session_id=session_id, status=WaitlistStatus.OFFERED)
        .select_related("order")
    )
    for entry in offered:
        order = entry.order
        if order is not None and order.status == OrderStatus.PAID:
            entry.mark_booked()
            continue
        # The hold is the offer's end, or later while a Checkout Session taken
        # in the offer's last minutes can be paid: at most Stripe's shortest
        # session and the grace past it (`order_start_payment`).
        holding = order is not None and Ticket.objects.filter(order=order).filter(
            seat_holding_q(now=now)
        )
        if holding and holding.exists():
            continue
        entry.mark_lapsed()
        if (
            order is not None
            and order.status == OrderStatus.PENDING
            and not order.stripe_checkout_session_id
        ):
            # Never sent to Stripe, so nobody can pay it late: release it now.
            order.release(status=OrderStatus.EXPIRED)
        log(entry, "workshops.waitlist.lapsed")


def _offer_ticket_type(workshop_id: int, *, now: datetime) -> TicketType | None:
    """The cheapest single seat on sale for the workshop: what an offer holds."""
    return (
        TicketType.objects.on_sale(now=now)
        .filter(workshops=workshop_id, seats_per_ticket=1)
        .order_by("price", "pk")
        .first()
    )


def _payment_method(ticket_type: TicketType) -> str:
    if ticket_type.price == 0:
        return PaymentMethod.FREE
    return PaymentMethod.DEMO if payments.demo_mode() else PaymentMethod.STRIPE


def waitlist_offer_claim(*, entry_id: int, now: datetime | None = None) -> Order:
    """The person offered a seat takes it: a free seat is theirs at once; a paid one
    goes on to payment (the caller starts it). Twice is the same as once."""
    now = now or timezone.now()
    session_id = WaitlistEntry.objects.values_list("session_id", flat=True).get(
        pk=entry_id
    )
    with transaction.atomic():
        # The session, then the entry, then the order: as the offer sweep
        # (`session_waitlist_offer`) and `order_fulfil` take them.
        lock_session(session_id)
        entry = (
            WaitlistEntry.objects.select_for_update(of=("self",))
            .select_related("order")
            .get(pk=entry_id)
        )
        order = entry.order
        if entry.status == WaitlistStatus.BOOKED and order is not None:
            return order
        if (
            entry.status == WaitlistStatus.OFFERED
            and order is not None
            and order.status == OrderStatus.PAID
        ):
            # Paid on Stripe before the sweep noted it: the seat is theirs.
            entry.mark_booked()
            return order
        # The offer's own end, not the order's hold, which a Checkout Session
        # taken in the offer's last minutes runs past it: no offer is taken,
        # nor a session made for it, after its end.
        offer_ends = entry.offer_expires_at or (order and order.hold_expires_at)
        if (
            entry.status != WaitlistStatus.OFFERED
            or order is None
            or order.status != OrderStatus.PENDING
            or offer_ends is None
            or offer_ends <= now
        ):
            raise WaitlistError(
                "This offer has lapsed, and the seat has gone to the next person. "
                "Sorry: you can join the list again."
            )
        if order.payment_method == PaymentMethod.FREE:
            order = order_fulfil(
                order_id=order.pk, payment_method=PaymentMethod.FREE, now=now
            )
            if order.status == OrderStatus.PAID:
                entry.mark_booked()
        log(entry, "workshops.waitlist.claimed", data={"order": order.reference})
    return order


def waitlist_leave(*, entry_id: int) -> WaitlistEntry:
    """Off the list; an offered seat is given back and offered to the next person."""
    session_id = WaitlistEntry.objects.values_list("session_id", flat=True).get(
        pk=entry_id
    )
    with transaction.atomic():
        # In the order the offer sweep takes them: session, entry, order.
        lock_session(session_id)
        entry = WaitlistEntry.objects.select_for_update(of=("self",)).get(pk=entry_id)
        if entry.status not in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
            return entry
        order = entry.order
        entry.mark_left()
        if order is not None and order.status == OrderStatus.PENDING:
            order = Order.objects.select_for_update().get(pk=order.pk)
            if order.status == OrderStatus.PENDING:
                order.release(status=OrderStatus.CANCELLED)
        log(entry, "workshops.waitlist.left")
    if order is not None:
        # They may have opened Stripe Checkout and come back: it must not be
        # paid for a seat now offered to the next person.
        order_checkout_close(order=order)
    session_waitlist_offer(session_id=entry.session_id)
    return entry


def waitlists_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Re-check every upcoming session someone waits for: freed seats, lapsed offers.

    For a scheduled job (`manage.py reconcile_notices`), so a seat freed where
    nothing called `session_waitlist_offer` (a hold that simply expired) still
    reaches the list.
    """
    now = now or timezone.now()
    session_ids = (
        WaitlistEntry.objects.filter(
            status__in=(WaitlistStatus.WAITING, WaitlistStatus.OFFERED),
            session__starts_at__gt=now,
        )
        .values_list("session_id", flat=True)
        .distinct()
    )
    counts = {"sessions": 0, "offers": 0}
    for session_id in list(session_ids):
        counts["sessions"] += 1
        counts["offers"] += len(session_waitlist_offer(session_id=session_id, now=now))
    return counts
