"""Seat codes: issued when a group's payment arrives, redeemed seat by seat.

Redeeming locks the code's row, then the session's (always in that order, so two
redemptions never wait on each other crosswise), checks the code at that moment
(voided, expired, seats left) and the session's capacity, and writes a paid order
with valid tickets: no Stripe call, and the code's seats and the session's are
both counted under their locks, so neither is ever exceeded.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from wagtail.log_actions import log

from home.email import send_templated_email

from ..models import (
    Order,
    OrderStatus,
    PaymentMethod,
    ScheduleIndexPage,
    SeatCode,
    Ticket,
    TicketStatus,
    available_time_zones,
    normalise_code,
)
from .emails import absolute, after_commit, send_confirmation
from .lines import (
    Attendee,
    lock_sessions,
    order_add_lines_and_tickets,
    order_lines,
    ticket_type_for,
)
from .seats import CheckoutError, SeatHold

# Seats staff may add to a code in one go; a larger group is a new invoice.
MAX_SEATS_ADDED = 500

UNKNOWN = (
    "We do not know that code. Check it against the email it came in: "
    "five groups of four letters and digits."
)
MALFORMED = (
    "A seat code has 20 letters and digits in five groups of four, like "
    "ABCD-EFGH-JKMN-PQRS-TUVW. Check for a missing or an extra character."
)
VOIDED = (
    "This code has been withdrawn, so it cannot be used. Please ask the person "
    "who gave it to you."
)
USED_UP = "Every seat of this code has been taken already."
# Wrong guesses from one client: after SLOW_AFTER each waits longer before the
# next is looked at; after REFUSE_AFTER none is for GUESS_WINDOW seconds.
SLOW_AFTER = 3
REFUSE_AFTER = 10
GUESS_WINDOW = 60 * 60
SLOW_DOWN = "Please wait a few seconds before trying another code."
TOO_MANY_GUESSES = (
    "Too many wrong codes from your connection. Please try again in an hour, or "
    "write to us."
)


class CodeRefused(CheckoutError):
    """A code that cannot pay for these seats; `wrong_guess` if nothing matched."""

    def __init__(self, message: str, *, wrong_guess: bool = False):
        super().__init__(message)
        self.wrong_guess = wrong_guess


class CodeError(Exception):
    """A change staff asked of a code that cannot be made, worded for them."""


def add_a_year(day: date) -> date:
    """The same day a year later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def code_valid_until(paid_on: date) -> date:
    """The last day a code paid on `paid_on` can be redeemed: a year on."""
    return add_a_year(paid_on)


@dataclass
class CodeGuesses:
    """Wrong codes typed from one client, counted so guessing gets slow, then stops.

    No sleeping in a request: after SLOW_AFTER wrong codes, the next is refused
    until a wait that doubles with each one has passed since the last.
    """

    client: str | None  # home.throttle.client_ip of the request

    @property
    def _key(self) -> str:
        return f"seat-code-guesses:{self.client}"

    def check(self, *, now: datetime) -> None:
        """Refuse before looking the code up, if this client has guessed enough."""
        count, last = cache.get(self._key, (0, None))
        if count >= REFUSE_AFTER:
            raise CodeRefused(TOO_MANY_GUESSES)
        if count >= SLOW_AFTER and last is not None:
            wait = timedelta(seconds=2 ** (count - SLOW_AFTER + 1))
            if now < last + wait:
                raise CodeRefused(SLOW_DOWN)

    def record_wrong(self, *, now: datetime) -> None:
        count, _ = cache.get(self._key, (0, None))
        cache.set(self._key, (count + 1, now), timeout=GUESS_WINDOW)


def seat_code_find(*, typed: str) -> SeatCode:
    """The code someone typed, in any case, with or without dashes or spaces."""
    normalised = normalise_code(typed)
    if normalised is None:
        raise CodeRefused(MALFORMED, wrong_guess=True)
    code = SeatCode.objects.for_code(normalised).first()
    if code is None:
        raise CodeRefused(UNKNOWN, wrong_guess=True)
    return code


def _check_usable(code: SeatCode, *, seats: int, today: date) -> None:
    """Checked under the code's lock, at the moment of redeeming."""
    if code.voided_at is not None:
        raise CodeRefused(VOIDED)
    if today > code.valid_until:
        raise CodeRefused(
            f"This code expired on {code.valid_until:%-d %B %Y}. Please ask the "
            "person who gave it to you to write to us."
        )
    left = code.seats - code.seats_used()
    if left <= 0:
        raise CodeRefused(USED_UP)
    if seats > left:
        raise CodeRefused(
            f"This code has {left} seat{'s' if left != 1 else ''} left: "
            f"book {'that many' if left != 1 else 'one'} with it, or pay for the rest."
        )


def seat_code_redeem(
    *,
    code: str,
    session_id: int,
    ticket_type_id: int,
    quantity: int,
    buyer_name: str,
    buyer_email: str,
    buyer_time_zone: str,
    attendees: Sequence[Attendee],
    also: Sequence[tuple[int, int]] = (),
    now: datetime | None = None,
) -> Order:
    """Seats paid with a code: a paid order with valid tickets, at once.

    `also` adds other sessions, as `order_create` does: all or nothing.
    """
    now = now or timezone.now()
    found = seat_code_find(typed=code)
    lines = order_lines(session_id=session_id, quantity=quantity, also=also)
    ticket_type = ticket_type_for(ticket_type_id=ticket_type_id, lines=lines, now=now)
    if ticket_type.issues_code:
        raise CheckoutError("A seat code pays for seats, not for another code.")
    tickets_total = sum(tickets for _, tickets in lines)
    seats = tickets_total * ticket_type.seats_per_ticket
    if len(attendees) != seats:
        raise CheckoutError(f"Give a name and email address for all {seats} seats.")
    order = Order(
        ticket_type=ticket_type,
        quantity=tickets_total,
        unit_price=0,
        total=0,
        buyer_name=buyer_name,
        buyer_email=buyer_email,
        buyer_time_zone=buyer_time_zone
        if buyer_time_zone in available_time_zones()
        else "",
        payment_method=PaymentMethod.CODE,
        hold_expires_at=None,
    )
    with transaction.atomic():
        # The code first, then the sessions by key: every redemption takes them
        # in this order, so two never wait on each other crosswise.
        seat_code = SeatCode.objects.select_for_update().get(pk=found.pk)
        _check_usable(seat_code, seats=seats, today=timezone.localdate(now))
        sessions = lock_sessions([sid for sid, _ in lines])
        for sid, tickets in lines:
            session = sessions[sid]
            if seat_code.workshop_id and seat_code.workshop_id != session.workshop_id:
                raise CodeRefused(
                    f"This code is for {seat_code.workshop.title} only: choose one "
                    "of its dates."
                )
            SeatHold(
                seats=tickets * ticket_type.seats_per_ticket,
                client_key="",
                now=now,
                unpaid=False,
            ).check(session)
        session = sessions[session_id]
        order.session = session
        order.seat_code = seat_code
        order.buyer_time_zone = order.buyer_time_zone or session.time_zone
        order.status = OrderStatus.PAID
        order.paid_at = now
        order.save(force_insert=True)
        order_add_lines_and_tickets(
            order=order,
            lines=lines,
            sessions=sessions,
            seats_per_ticket=ticket_type.seats_per_ticket,
            attendees=attendees,
            status=TicketStatus.VALID,
        )
        log(order, "workshops.order.created", data={"seats": seats})
        log(
            seat_code,
            "workshops.seatcode.redeemed",
            data={"order": order.reference, "seats": seats, "sessions": list(sessions)},
        )
        after_commit(lambda: send_confirmation(order))
    return order


def seat_code_issue(
    *,
    seats: int,
    paid_on: date,
    buyer_name: str,
    buyer_email: str,
    organisation: str = "",
    workshop_id: int | None = None,
    invoice_request_id: int | None = None,
    order_id: int | None = None,
    user=None,
) -> SeatCode:
    """A new code for seats paid on `paid_on`, emailed to the buyer after commit.

    Called inside the transaction that records the payment; a unique constraint
    on the invoice request (or the order) keeps it to one code for each.
    """
    seat_code = SeatCode(
        seats=seats,
        paid_on=paid_on,
        valid_until=code_valid_until(paid_on),
        buyer_name=buyer_name,
        buyer_email=buyer_email,
        organisation=organisation,
        workshop_id=workshop_id,
        invoice_request_id=invoice_request_id,
        order_id=order_id,
    )
    seat_code.assign_code()
    seat_code.save(force_insert=True)
    log(
        seat_code,
        "workshops.seatcode.issued",
        user=user,
        data={"seats": seats, "valid_until": seat_code.valid_until.isoformat()},
    )
    after_commit(lambda: send_code_email(seat_code, template="code_issued"))
    return seat_code


def schedule_url() -> str:
    """Where a code's holder picks a date: the schedule, or the home page."""
    schedule = ScheduleIndexPage.objects.live().first()
    return schedule.full_url if schedule else absolute("/")


def seat_code_url(seat_code: SeatCode) -> str:
    """The full address of the buyer's private page for a code."""
    return absolute(reverse("workshops:seat_code", args=[seat_code.token]))


def send_code_email(
    seat_code: SeatCode, *, template: str, context: dict | None = None
) -> None:
    """The buyer's email about their code: issued, or changed by staff."""
    seat_code.refresh_from_db()
    send_templated_email(
        template=f"workshops/emails/{template}",
        to=[seat_code.buyer_email],
        context={
            "seat_code": seat_code,
            "code": seat_code.code,
            "code_url": seat_code_url(seat_code),
            "seats_left": seat_code.seats - seat_code.seats_used(),
            "schedule_url": schedule_url(),
            **(context or {}),
        },
    )


def _locked_code(code_id: int) -> SeatCode:
    return SeatCode.objects.select_for_update().get(pk=code_id)


def seat_code_extend(*, code_id: int, valid_until: date, user=None) -> SeatCode:
    """Staff move a code's last day later; the buyer is told."""
    with transaction.atomic():
        seat_code = _locked_code(code_id)
        if seat_code.voided_at:
            raise CodeError("A voided code cannot be extended.")
        if valid_until <= seat_code.valid_until:
            raise CodeError(
                f"Choose a day after {seat_code.valid_until:%-d %B %Y}, its last "
                "day now."
            )
        if valid_until > add_a_year(add_a_year(seat_code.valid_until)):
            raise CodeError("Extend a code by at most two years at a time.")
        before = seat_code.valid_until
        seat_code.extend(valid_until=valid_until)
        log(
            seat_code,
            "workshops.seatcode.extended",
            user=user,
            data={"from": before.isoformat(), "to": valid_until.isoformat()},
        )
        change = (
            f"It is now valid until {valid_until:%-d %B %Y} "
            f"(it was {before:%-d %B %Y})."
        )
        after_commit(
            lambda: send_code_email(
                seat_code, template="code_changed", context={"change": change}
            )
        )
    return seat_code


def seat_code_add_seats(*, code_id: int, seats: int, user=None) -> SeatCode:
    """Staff add seats to a code; the buyer is told."""
    if not 1 <= seats <= MAX_SEATS_ADDED:
        raise CodeError(f"Add between 1 and {MAX_SEATS_ADDED} seats.")
    with transaction.atomic():
        seat_code = _locked_code(code_id)
        if seat_code.voided_at:
            raise CodeError("A voided code cannot be given more seats.")
        seat_code.add_seats(seats=seats)
        log(
            seat_code,
            "workshops.seatcode.seats_added",
            user=user,
            data={"added": seats, "seats": seat_code.seats},
        )
        change = (
            f"{seats} seat{'s' if seats != 1 else ''} added: it now admits "
            f"{seat_code.seats} people in all."
        )
        after_commit(
            lambda: send_code_email(
                seat_code, template="code_changed", context={"change": change}
            )
        )
    return seat_code


def seat_code_void(*, code_id: int, reason: str, user=None) -> SeatCode:
    """Staff withdraw a code: no more seats with it; seats taken stay."""
    reason = " ".join(reason.split())
    if not reason:
        raise CodeError("Say why the code is voided: the buyer is told.")
    with transaction.atomic():
        seat_code = _locked_code(code_id)
        if seat_code.voided_at:
            raise CodeError("This code is voided already.")
        seat_code.void(reason=reason[:255], now=timezone.now())
        log(seat_code, "workshops.seatcode.voided", user=user, data={"reason": reason})
        change = f"It has been withdrawn: {reason} Seats already booked with it stay."
        after_commit(
            lambda: send_code_email(
                seat_code, template="code_changed", context={"change": change}
            )
        )
    return seat_code


def seat_code_share(*, seat_code: SeatCode, email: str, name: str = "") -> None:
    """The buyer sends the code to a colleague, with where to use it."""
    if seat_code.voided_at:
        raise CodeError("This code has been withdrawn, so it cannot be sent.")
    if timezone.localdate() > seat_code.valid_until:
        raise CodeError("This code has expired, so it cannot be sent.")
    if seat_code.seats_used() >= seat_code.seats:
        raise CodeError("Every seat of this code is taken, so it cannot be sent.")
    log(seat_code, "workshops.seatcode.shared")
    send_templated_email(
        template="workshops/emails/code_shared",
        to=[email],
        reply_to=[seat_code.buyer_email],
        context={
            "seat_code": seat_code,
            "code": seat_code.code,
            "colleague_name": name,
            "schedule_url": schedule_url(),
        },
    )


def seat_code_redemptions(seat_code: SeatCode) -> list[Ticket]:
    """Who took a seat with the code, for which session: valid tickets, in order."""
    return list(
        seat_code.redeemed_tickets()
        .select_related("session__workshop", "order")
        .order_by("session__starts_at", "pk")
    )
