"""Seats: the session's row lock, taken just before the seats are counted."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Count, Q
from django.utils.crypto import salted_hmac

from home.page_cache import SEATS, page_cache_invalidate
from home.tasks import enqueue_on_commit

from .. import tasks
from ..models import (
    OrderStatus,
    SessionStatus,
    Ticket,
    TicketStatus,
    WorkshopSession,
)

# The lock is held for a few short statements (no Stripe call, no email), so a
# queue of buyers moves quickly: a wait that times out (SEAT_LOCK_TIMEOUT_MS) is
# queued again rather than failing the checkout, and only a lock held far longer
# than any checkout (SEAT_LOCK_ATTEMPTS waits: a stuck transaction, a database
# in trouble) ends in SessionBusy.

BOOKABLE = {SessionStatus.SCHEDULED, SessionStatus.TENTATIVE}
# One unpaid booking may hold at most CHECKOUT_UNPAID_SHARE_OF_SEATS_LEFT of the
# seats left, and never fewer than MIN_HOLD (two people booking together), so
# seats stay for others while it is paid.
MIN_HOLD = 2


class CheckoutError(Exception):
    """A reason to refuse a checkout, worded for the buyer."""


class SessionBusy(CheckoutError):
    """The session's lock could not be had in time; trying again will do."""


def lock_session(session_id: int) -> WorkshopSession:
    """Lock a session's row for the rest of the transaction, before counting seats."""
    # Every path that takes seats comes through here: once it commits, cached
    # pages showing the seats left are stale (home/page_cache.py).
    page_cache_invalidate(scope=SEATS)
    if connection.vendor == "postgresql":
        timeout = settings.SEAT_LOCK_TIMEOUT_MS
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)", [f"{int(timeout)}ms"]
            )
    for _ in range(settings.SEAT_LOCK_ATTEMPTS - 1):
        try:
            # A savepoint per wait: a wait that timed out aborts only itself, and
            # the next one queues again within the same transaction.
            with transaction.atomic():
                return _locked(session_id)
        except OperationalError as error:
            if not _lock_not_available(error):
                raise
    try:
        return _locked(session_id)
    except OperationalError as error:
        if _lock_not_available(error):
            raise SessionBusy(
                "Many people are booking this session right now. "
                "Please try again in a moment."
            ) from error
        raise


def seats_freed(*, session_ids: Iterable[int]) -> None:
    """Seats came free: after the commit, cached pages show them and the first
    person on each session's waiting list is offered one. Needs no lock."""
    page_cache_invalidate(scope=SEATS)
    for session_id in sorted(set(session_ids)):
        enqueue_on_commit(tasks.session_waitlist_offer, session_id)


def _locked(session_id: int) -> WorkshopSession:
    return (
        WorkshopSession.objects.select_for_update(of=("self",))
        .select_related("workshop")
        .get(pk=session_id)
    )


def _lock_not_available(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) == "55P03"


def seats_taken(
    session_id: int, *, now: datetime, exclude_order: int | None = None
) -> int:
    """How many of a session's seats are sold or held now."""
    tickets = Ticket.objects.filter(session_id=session_id).holding_seats(now=now)
    if exclude_order is not None:
        tickets = tickets.exclude(order_id=exclude_order)
    return tickets.count()


def client_key(client: str | None) -> str:
    """A keyed hash of a client's address, kept on its orders instead of the address."""
    if not client:
        return ""
    return salted_hmac("workshops.order.client", client, algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class SeatHold:
    """What a new unpaid order asks of a session, checked under the session's lock."""

    seats: int
    client_key: str
    now: datetime
    seats_per_ticket: int = 1
    # False for a booking confirmed at once (free): the bounds on seats held
    # while a payment is awaited do not apply to it.
    unpaid: bool = True

    def check(self, session: WorkshopSession) -> None:
        """Open, with the seats free, within the bounds on unpaid holds?"""
        if not session.workshop.live or session.status not in BOOKABLE:
            raise CheckoutError("This session is not open for booking.")
        if session.local_start <= self.now:
            raise CheckoutError("Booking for this session has closed: it has begun.")
        taken, by_client = self._count(session)
        left = session.effective_capacity - taken
        if self.seats > left:
            raise CheckoutError(
                "Sorry, this session is sold out."
                if left <= 0
                else f"Only {left} seat{'s' if left != 1 else ''} left in this session."
            )
        if self.unpaid:
            self._check_client(by_client)
            self._check_share(left)

    def _check_share(self, left: int) -> None:
        """One unpaid booking holds at most a share of the seats left, in whole
        tickets, and never less than one ticket (or MIN_HOLD seats)."""
        share = math.ceil(left * settings.CHECKOUT_UNPAID_SHARE_OF_SEATS_LEFT)
        tickets = max(share // self.seats_per_ticket, 1)
        allowed = max(tickets * self.seats_per_ticket, MIN_HOLD)
        if self.seats > allowed:
            count = allowed // self.seats_per_ticket
            what = (
                f"{allowed} seats"
                if self.seats_per_ticket == 1
                else f"{count} ticket{'s' if count != 1 else ''} ({allowed} seats)"
            )
            raise CheckoutError(
                f"Only {left} seats are left, and one booking can hold at most "
                f"{what} while it is paid for. Please book that many now, or "
                "write to us about a larger group."
            )

    def _count(self, session: WorkshopSession) -> tuple[int, int]:
        """Seats taken, and those of them this client holds unpaid, in one query."""
        unpaid_by_client = Q(
            status=TicketStatus.RESERVED,
            order__status=OrderStatus.PENDING,
            order__client_key=self.client_key,
        )
        counts = (
            Ticket.objects.filter(session_id=session.pk)
            .holding_seats(now=self.now)
            .aggregate(
                taken=Count("pk"),
                by_client=Count("pk", filter=unpaid_by_client),
            )
        )
        return counts["taken"], counts["by_client"] if self.client_key else 0

    def _check_client(self, by_client: int) -> None:
        limit = settings.CHECKOUT_UNPAID_SEATS_PER_CLIENT
        if self.client_key and by_client + self.seats > limit:
            raise CheckoutError(
                f"{by_client} seats of this session are already waiting for payment "
                "from your connection: pay for them or release them first (the "
                "links are in your browser's history)."
                if by_client
                else f"One connection can hold at most {limit} unpaid seats in a "
                "session. Please book fewer, or write to us about a larger group."
            )
