"""Seats: the session's row lock, taken just before the seats are counted."""

from datetime import datetime

from django.db import OperationalError, connection

from ..models import Ticket, WorkshopSession

LOCK_TIMEOUT = "5s"


class CheckoutError(Exception):
    """A reason to refuse a checkout, worded for the buyer."""


class SessionBusy(CheckoutError):
    """The session's lock could not be had in time; trying again will do."""


def lock_session(session_id: int) -> WorkshopSession:
    """Lock a session's row for the rest of the transaction, before counting seats."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    try:
        return (
            WorkshopSession.objects.select_for_update(of=("self",))
            .select_related("workshop")
            .get(pk=session_id)
        )
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == "55P03":  # lock_not_available
            raise SessionBusy(
                "Many people are booking this session right now. "
                "Please try again in a moment."
            ) from error
        raise


def seats_taken(
    session_id: int, *, now: datetime, exclude_order: int | None = None
) -> int:
    """How many of a session's seats are sold or held now."""
    tickets = Ticket.objects.filter(session_id=session_id).holding_seats(now=now)
    if exclude_order is not None:
        tickets = tickets.exclude(order_id=exclude_order)
    return tickets.count()
