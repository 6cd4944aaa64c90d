"""Orders: hold seats, take payment through Stripe, and settle what Stripe says."""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from .. import payments
from ..formatting import day_label
from ..models import (
    Order,
    OrderStatus,
    PaymentMethod,
    TicketType,
    WaitlistEntry,
    WaitlistStatus,
    available_time_zones,
)
from .codes import seat_code_issue
from .emails import after_commit, send_confirmation
from .lines import (
    Attendee,
    lock_sessions,
    order_add_lines_and_tickets,
    order_lines,
    ticket_type_for,
)
from .refunds import order_refund_unseated
from .seats import (
    CheckoutError,
    SeatHold,
    SessionBusy,
    client_key,
    seats_freed,
    seats_taken,
)

logger = logging.getLogger(__name__)

# Unpaid orders one buyer may have waiting at once: a person paying needs one.
MAX_UNPAID_ORDERS = 3


def order_create(
    *,
    session_id: int,
    ticket_type_id: int,
    quantity: int,
    buyer_name: str,
    buyer_email: str,
    buyer_time_zone: str,
    attendees: Sequence[Attendee],
    also: Sequence[tuple[int, int]] = (),
    client: str | None = None,
    now: datetime | None = None,
) -> Order:
    """Hold seats for a buyer and make the order that will pay for them.

    `also` adds other sessions (dates) to the same order, as (session id,
    tickets): the seats in every session are held together or not at all.
    `attendees` come session by session, in the order given. `client` is the
    address the request came from (`home.throttle.client_ip`): the unpaid seats
    one client holds in a session are bounded.
    """
    now = now or timezone.now()
    lines = order_lines(session_id=session_id, quantity=quantity, also=also)
    ticket_type = ticket_type_for(ticket_type_id=ticket_type_id, lines=lines, now=now)
    seats = sum(tickets for _, tickets in lines) * ticket_type.seats_per_ticket
    if ticket_type.issues_code:
        # Sold as a code: nobody is named and no seat is held until redeemed.
        if also or attendees:
            raise CheckoutError(
                "A seat code is bought on its own, without attendees or dates."
            )
    elif len(attendees) != seats:
        raise CheckoutError(f"Give a name and email address for all {seats} seats.")
    _check_unpaid_orders(buyer_email=buyer_email, now=now)
    key = client_key(client)
    # A free booking is confirmed at once: nothing is held unpaid.
    unpaid = _payment_method(ticket_type) != PaymentMethod.FREE
    tickets_total = sum(tickets for _, tickets in lines)
    # Everything that can be worked out before the lock is, so the lock covers a
    # count and the inserts (docs/conventions.md, "Tickets and payments").
    order = Order(
        ticket_type=ticket_type,
        quantity=tickets_total,
        unit_price=ticket_type.price,
        total=ticket_type.price * tickets_total,
        buyer_name=buyer_name,
        buyer_email=buyer_email,
        buyer_time_zone=buyer_time_zone
        if buyer_time_zone in available_time_zones()
        else "",
        client_key=key,
        payment_method=_payment_method(ticket_type),
        hold_expires_at=now + payments.CHECKOUT_LIFETIME + payments.HOLD_GRACE,
    )
    with transaction.atomic():
        sessions = lock_sessions([sid for sid, _ in lines])
        for sid, tickets in [] if ticket_type.issues_code else lines:
            SeatHold(
                seats=tickets * ticket_type.seats_per_ticket,
                client_key=key,
                now=now,
                seats_per_ticket=ticket_type.seats_per_ticket,
                unpaid=unpaid,
            ).check(sessions[sid])
        session = sessions[session_id]
        order.session = session
        order.buyer_time_zone = order.buyer_time_zone or session.time_zone
        order.save(force_insert=True)
        order_add_lines_and_tickets(
            order=order,
            lines=lines,
            sessions=sessions,
            # A code pack has its line and no tickets: nobody is named yet.
            seats_per_ticket=0
            if ticket_type.issues_code
            else ticket_type.seats_per_ticket,
            attendees=attendees,
        )
        log(
            order,
            "workshops.order.created",
            data={"seats": seats, "sessions": [sid for sid, _ in lines]},
        )
    return order


def _check_unpaid_orders(*, buyer_email: str, now: datetime) -> None:
    unpaid = Order.objects.filter(
        buyer_email__iexact=buyer_email,
        status=OrderStatus.PENDING,
        hold_expires_at__gt=now,
    )
    if unpaid.count() >= MAX_UNPAID_ORDERS:
        raise CheckoutError(
            "You have orders waiting for payment already: finish or cancel one "
            "of them first (see the links in your browser's history)."
        )


def _payment_method(ticket_type: TicketType) -> str:
    if ticket_type.price == 0:
        return PaymentMethod.FREE
    return PaymentMethod.DEMO if payments.demo_mode() else PaymentMethod.STRIPE


def order_start_payment(*, order: Order, success_url: str, cancel_url: str) -> str:
    """Where to send the buyer to pay: Stripe Checkout, made once per order.

    A waiting-list offer keeps its own, longer hold: its Checkout Session ends
    when the offer does (`WaitlistEntry.offer_expires_at`), as far as Stripe
    allows, and one that expired while the offer still runs is replaced by a
    fresh one; none once the offer has ended. No lock is held while Stripe is
    called; an order released meanwhile has its new session closed.
    """
    offer = WaitlistEntry.objects.for_order(order)
    replaces = ""
    if offer is not None and order.stripe_checkout_session_id:
        # The holder may come back (from Stripe's "back", or a day later):
        # Stripe says whether the session they had can still be paid.
        current = payments.checkout_session_retrieve(order.stripe_checkout_session_id)
        if current.open:
            return current.url
        if not current.expired:
            # Complete: paid, or processing; the order's page settles it.
            return success_url.replace("{CHECKOUT_SESSION_ID}", current.id)
        replaces = current.id
    elif order.stripe_checkout_url:
        return order.stripe_checkout_url
    now = timezone.now()
    expires_at = None
    if offer is not None:
        expires_at = _offer_checkout_expiry(
            order=order, entry=offer, replaces=replaces, now=now
        )
    state = payments.checkout_session_create(
        reference=order.reference,
        lines=[
            payments.CheckoutLine(
                name=f"{session.workshop.title}: {order.ticket_type.name}",
                description=f"{day_label(session.date)} ({session.time_zone})",
                unit_amount=order.unit_price,
                quantity=tickets,
            )
            for session, tickets in order.booked()
        ],
        customer_email=order.buyer_email,
        success_url=success_url,
        cancel_url=cancel_url,
        expires_at=expires_at,
        replaces=replaces,
        now=now,
    )
    hold = (state.expires_at or now) + payments.HOLD_GRACE
    if offer is None:
        updated = Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
            stripe_checkout_session_id=state.id,
            stripe_checkout_url=state.url,
            hold_expires_at=hold,
        )
    else:
        hold = max(hold, _offer_ends(offer, order))
        updated = _offer_checkout_note(
            order=order, entry_id=offer.pk, state=state, hold=hold
        )
    if not updated:
        # Released while Stripe answered (the offer lapsed, the buyer left):
        # nobody may pay for seats that are no longer held.
        _checkout_close_quietly(state.id)
        raise CheckoutError("These seats are no longer held for this order.")
    order.stripe_checkout_session_id, order.stripe_checkout_url = state.id, state.url
    order.hold_expires_at = hold
    return state.url


def _offer_ends(entry: WaitlistEntry, order: Order) -> datetime:
    # Offers made before the entry kept its own end ended with their order's hold.
    return entry.offer_expires_at or order.hold_expires_at or timezone.now()


def _offer_checkout_expiry(
    *, order: Order, entry: WaitlistEntry, replaces: str, now: datetime
) -> datetime:
    """When an offer's next Checkout Session ends, fixed once per idempotency key.

    Paid in its last second, it still finds the seat while the webhook is on
    its way: the grace is kept within the offer's own time, unless the seat is
    taken in the offer's last minutes (Stripe's shortest session then runs past
    it, once: no session is made after the offer's end). The value is recorded
    before Stripe is asked, so a retry under the same key (an answer lost, a
    second click) sends the same one, which Stripe's idempotency requires.
    """
    offer_ends = _offer_ends(entry, order)
    if offer_ends <= now:
        raise CheckoutError(
            "This offer has ended, and the seat goes to the next person. "
            "Sorry: you can join the list again."
        )
    key = payments.checkout_idempotency_key(
        reference=order.reference, replaces=replaces
    )
    with transaction.atomic():
        # The order's lock alone, and only to record the value once.
        Order.objects.select_for_update().filter(pk=order.pk).first()
        planned = (
            ModelLogEntry.objects.for_instance(order)
            .filter(action="workshops.order.checkout_planned", data__key=key)
            .order_by("pk")
            .first()
        )
        if planned is not None:
            return datetime.fromisoformat(planned.data["expires_at"])
        expires_at = payments.checkout_expiry(
            ends=offer_ends - payments.HOLD_GRACE, now=now
        )
        log(
            order,
            "workshops.order.checkout_planned",
            data={"key": key, "expires_at": expires_at.isoformat()},
        )
    return expires_at


def _offer_checkout_note(
    *, order: Order, entry_id: int, state: payments.CheckoutState, hold: datetime
) -> bool:
    """Note an offer's new Checkout Session, if the offer still holds the seat.

    Under the locks the offer sweep takes (session, entry, then order), so a
    sweep that lapsed the offer while Stripe answered is seen here, and a hold
    it found passed is not pushed later for a seat it offered to the next
    person.
    """
    with transaction.atomic():
        lock_sessions(order_session_ids(order))
        entry = WaitlistEntry.objects.select_for_update(of=("self",)).get(pk=entry_id)
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if (
            entry.status != WaitlistStatus.OFFERED
            or entry.order_id != locked.pk
            or locked.status != OrderStatus.PENDING
            or locked.hold_expires_at is None
            or locked.hold_expires_at <= timezone.now()
        ):
            return False
        locked.stripe_checkout_session_id = state.id
        locked.stripe_checkout_url = state.url
        locked.hold_expires_at = hold
        locked.save(
            update_fields=[
                "stripe_checkout_session_id",
                "stripe_checkout_url",
                "hold_expires_at",
                "updated_at",
            ]
        )
    return True


def _checkout_close_quietly(checkout_session_id: str) -> None:
    try:
        payments.checkout_session_expire(checkout_session_id)
    except payments.PaymentsUnavailable:
        # A payment that still comes is settled as a late one (order_fulfil).
        logger.warning("Could not close Checkout Session %s", checkout_session_id)


def order_sync(
    *,
    order: Order,
    state: payments.CheckoutState | None = None,
    checkout_session_id: str = "",
) -> Order:
    """Bring an order in line with what Stripe says of its Checkout Session now."""
    checkout_session_id = checkout_session_id or order.stripe_checkout_session_id
    if not checkout_session_id:
        return order
    state = state or payments.checkout_session_retrieve(checkout_session_id)
    if state.client_reference_id != order.reference:
        return order
    if not order.stripe_checkout_session_id:
        # Stripe made the session but our note of it was lost (a crash between
        # Stripe's answer and our update): keep it now. Called within a
        # webhook's transaction, the order's row stays locked until the end, so
        # its sessions are taken first, as every path that locks both does.
        with transaction.atomic():
            lock_sessions(order_session_ids(order))
            Order.objects.filter(pk=order.pk, stripe_checkout_session_id="").update(
                stripe_checkout_session_id=state.id
            )
        order.stripe_checkout_session_id = state.id
    if state.paid:
        return order_fulfil(
            order_id=order.pk,
            payment_method=PaymentMethod.STRIPE,
            payment_intent_id=state.payment_intent_id,
        )
    if state.processing:
        return order_mark_processing(
            order_id=order.pk, payment_intent_id=state.payment_intent_id
        )
    if state.failed:
        return order_release(order_id=order.pk, status=OrderStatus.FAILED)
    if state.expired:
        return order_checkout_expired(order_id=order.pk, checkout_session_id=state.id)
    return order


def order_checkout_expired(
    *, order_id: int, checkout_session_id: str, now: datetime | None = None
) -> Order:
    """Stripe closed a Checkout Session unpaid: the order's seats are free again.

    Not when the session is no longer the order's own (a waiting-list offer's
    earlier one, replaced), nor for an offer whose hold still runs: its holder
    may pay with a fresh session until the offer's own time ends, and then
    `orders_reconcile` (or this, again) releases it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.stripe_checkout_session_id != checkout_session_id:
            return order
        offer = WaitlistEntry.objects.for_order(order)
        if (
            order.status == OrderStatus.PENDING
            and order.hold_expires_at is not None
            and order.hold_expires_at > now
            and offer is not None
            and offer.status == WaitlistStatus.OFFERED
            and _offer_ends(offer, order) > now
        ):
            return order
        return _release(order, status=OrderStatus.EXPIRED)


def order_fulfil(
    *,
    order_id: int,
    payment_method: str,
    payment_intent_id: str = "",
    now: datetime | None = None,
) -> Order:
    """Mark an order paid and its tickets valid, and send the confirmation; once.

    Takes the order's sessions (in key order) before the order's row, on every
    path: a date change (`session_reschedule`) lists the valid tickets under
    the session's lock, so tickets made valid here are either listed by it or
    confirmed after it, with the new times. Sessions before the order is the
    order every path that locks both takes (checkout, codes, the waiting list,
    rebooking), so none waits on another crosswise.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # A paid order stays paid: a repeated trigger takes no session lock.
        order = Order.objects.get(pk=order_id)
        if _settled(order):
            return order
        sessions = lock_sessions(order_session_ids(order))
        order = Order.objects.select_for_update().get(pk=order_id)
        # Once paid, always settled: a late or repeated trigger (an ACH event out
        # of order, a second click) must not revive an order staff cancelled.
        if _settled(order):
            return order
        # Read under the sessions' locks, which the offer sweep takes to lapse
        # an offer: an offer that lapsed gave its seat to the next person,
        # whatever the order's hold says, so the seats are counted again.
        offer = WaitlistEntry.objects.for_order(order)
        hold_kept = order.status == OrderStatus.PROCESSING or (
            order.status == OrderStatus.PENDING
            and order.hold_expires_at is not None
            and order.hold_expires_at > now
            and (offer is None or offer.status == WaitlistStatus.OFFERED)
        )
        if not hold_kept and not _seats_still_free(order, sessions=sessions, now=now):
            # Paid after the hold lapsed, and the seats went to someone else.
            return order_refund_unseated(
                order=order, payment_intent_id=payment_intent_id
            )
        order.mark_paid(
            payment_method=payment_method, payment_intent_id=payment_intent_id, now=now
        )
        log(order, "workshops.order.paid", data={"method": payment_method})
        if order.ticket_type.issues_code:
            # Its code is the confirmation: the buyer's email carries it.
            seat_code_issue(
                seats=order.seats,
                paid_on=timezone.localdate(now),
                buyer_name=order.buyer_name,
                buyer_email=order.buyer_email,
                workshop_id=order.session.workshop_id,
                order_id=order.pk,
            )
        else:
            after_commit(lambda: send_confirmation(order))
    return order


def _settled(order: Order) -> bool:
    return order.paid_at is not None or order.status in {
        OrderStatus.PAID,
        OrderStatus.REFUNDED,
    }


def order_session_ids(order: Order) -> list[int]:
    """Every session an order holds or held seats in, in key order (for locking).

    Read without a lock: an unpaid order's lines and tickets never change
    session (only valid tickets are moved).
    """
    ids = set(order.lines.values_list("session_id", flat=True))
    ids.update(order.tickets.values_list("session_id", flat=True))
    return sorted(ids or {order.session_id})


def _seats_still_free(order: Order, *, sessions: dict, now: datetime) -> bool:
    """Under every session's lock (taken by the caller): are the order's seats free?"""
    per_session: dict[int, int] = {}
    for session_id in order.tickets.values_list("session_id", flat=True):
        per_session[session_id] = per_session.get(session_id, 0) + 1
    return all(
        seats_taken(sid, now=now, exclude_order=order.pk) + seats
        <= sessions[sid].effective_capacity
        for sid, seats in per_session.items()
    )


def order_mark_processing(*, order_id: int, payment_intent_id: str) -> Order:
    """A payment that settles later (ACH): keep the seats until Stripe decides."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != OrderStatus.PENDING:
            return order
        order.mark_processing(payment_intent_id=payment_intent_id)
        log(order, "workshops.order.processing")
    return order


def order_release(*, order_id: int, status: str) -> Order:
    """An order that will not be paid: free its seats. Paid orders stay paid."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        return _release(order, status=status)


def _release(order: Order, *, status: str) -> Order:
    """Under the order's lock: free the seats of an order still waiting to be paid."""
    if order.status not in {OrderStatus.PENDING, OrderStatus.PROCESSING}:
        return order
    order.release(status=status)
    log(order, "workshops.order.released", data={"status": status})
    seats_freed(session_ids=order.tickets.values_list("session_id", flat=True))
    return order


def order_abandon(*, order: Order) -> Order:
    """The buyer came back from Stripe Checkout without paying: free the seats now.

    The seats are released under the order's lock; the Checkout Session is closed
    at Stripe afterwards, with no lock held. Safe to repeat: a buyer who reloads
    the page closes it again, which Stripe answers with what it is now. A payment
    that beat the close is settled as a late one (`order_fulfil`): seated if the
    seats are still free, refunded if not.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status == OrderStatus.PENDING:
            order = _release(order, status=OrderStatus.CANCELLED)
    return order_checkout_close(order=order)


def order_checkout_close(*, order: Order) -> Order:
    """After a cancellation's commit: its Checkout Session closed, so it cannot be
    paid. Call it with no lock held; a payment that beat the close is settled."""
    if (
        order.status == OrderStatus.CANCELLED
        and order.paid_at is None
        and order.stripe_checkout_session_id
    ):
        try:
            state = payments.checkout_session_expire(order.stripe_checkout_session_id)
        except payments.PaymentsUnavailable:
            # Released already; if it is paid before Stripe expires it, the
            # late payment is settled when the webhook or reconcile_orders comes.
            logger.warning("Could not close the Checkout Session of %s", order)
            return order
        if not state.expired:
            try:
                return order_sync(order=order, state=state)
            except SessionBusy:
                # The payment that beat the close waits for a busy session;
                # the order's page, the webhook or reconcile_orders seats it.
                logger.warning("Session busy while settling %s", order)
    return order


def order_rebook(*, order: Order, client: str | None = None) -> tuple[Order, bool]:
    """A new order for the same seats and people, for a buyer who changed their mind.

    Only from an order that was left unpaid, and once: a second press (a double
    click, a reload) returns the order the first one made, and False.
    """
    with transaction.atomic():
        # The sessions before the order, as `order_fulfil` takes them: a late
        # payment for this order may be settling at the same moment.
        lock_sessions(order_session_ids(order))
        old = Order.objects.select_for_update().get(pk=order.pk)
        if old.rebooked_as_id is not None:
            return old.rebooked_as, False
        if old.status != OrderStatus.CANCELLED or old.paid_at is not None:
            raise CheckoutError("This order is not waiting to be paid again.")
        (first, quantity), *others = [
            (session.pk, tickets) for session, tickets in old.booked()
        ]
        new = order_create(
            session_id=first,
            ticket_type_id=old.ticket_type_id,
            quantity=quantity,
            also=others,
            buyer_name=old.buyer_name,
            buyer_email=old.buyer_email,
            buyer_time_zone=old.buyer_time_zone,
            attendees=[
                Attendee(ticket.attendee_name, ticket.attendee_email)
                for ticket in old.tickets.order_by(
                    "session__starts_at", "session_id", "pk"
                )
            ],
            client=client,
        )
        old.rebooked_as = new
        old.save(update_fields=["rebooked_as", "updated_at"])
    return new, True


def orders_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Settle orders whose webhook never came: ask Stripe, as the success page does.

    For a scheduled job (`manage.py reconcile_orders`): lapsed holds whose Checkout
    Session is still open are closed at Stripe first, so they cannot be paid
    after their seats are gone; payments still processing after a day are
    looked up again.
    """
    now = now or timezone.now()
    counts = {"checked": 0, "changed": 0, "unreachable": 0}
    lapsed = Order.objects.filter(status=OrderStatus.PENDING, hold_expires_at__lt=now)
    slow = Order.objects.filter(
        status=OrderStatus.PROCESSING, updated_at__lt=now - timedelta(days=1)
    )
    for order in [*lapsed, *slow]:
        counts["checked"] += 1
        before = order.status
        try:
            if order.status == OrderStatus.PENDING and order.stripe_checkout_session_id:
                order = order_sync(
                    order=order,
                    state=payments.checkout_session_expire(
                        order.stripe_checkout_session_id
                    ),
                )
            elif order.status == OrderStatus.PENDING:
                order = order_release(order_id=order.pk, status=OrderStatus.EXPIRED)
            else:
                order = order_sync(order=order)
        except (payments.PaymentsUnavailable, SessionBusy):
            counts["unreachable"] += 1
            continue
        counts["changed"] += order.status != before
    return counts
