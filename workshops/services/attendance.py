"""After a session: staff record who attended, all at once from its attendee list."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log

from ..formatting import session_when
from ..models import (
    Certificate,
    CertificateStatus,
    Ticket,
    TicketStatus,
    WorkshopSession,
)
from .tickets import TicketError


class AttendanceError(TicketError):
    """A reason to refuse an attendance record, worded for staff."""


@dataclass(frozen=True)
class AttendanceResult:
    """What a save recorded: people present, absent, and how many changed."""

    present: int
    absent: int
    changed: int


def session_attendance_record(
    *, session_id: int, attended_ticket_ids: Iterable[int], user=None
) -> AttendanceResult:
    """Mark the session's valid tickets present (those given) or absent (the rest)."""
    present = {int(pk) for pk in attended_ticket_ids}
    with transaction.atomic():
        session = WorkshopSession.objects.select_related("workshop").get(pk=session_id)
        _check_ended(session)
        tickets = {
            ticket.pk: ticket
            for ticket in Ticket.objects.select_for_update().filter(
                session=session, status=TicketStatus.VALID
            )
        }
        if present - tickets.keys():
            raise AttendanceError(
                "Some of the people ticked are no longer on this session's list "
                "(cancelled or moved): reload the page and save again."
            )
        absent = tickets.keys() - present
        _check_no_certificate(absent)
        changed = [
            ticket
            for ticket in tickets.values()
            if ticket.attended is not (ticket.pk in present)
        ]
        Ticket.objects.filter(pk__in=present).mark_attended()
        Ticket.objects.filter(pk__in=absent).mark_absent()
        for ticket in changed:
            log(
                ticket,
                "workshops.ticket.attendance",
                user=user,
                data={"attended": ticket.pk in present, "session": session.pk},
            )
    return AttendanceResult(
        present=len(present), absent=len(absent), changed=len(changed)
    )


def _check_ended(session: WorkshopSession) -> None:
    if session.is_cancelled:
        raise AttendanceError("This session was cancelled: nobody attended it.")
    if not session.has_ended(now=timezone.now()):
        raise AttendanceError(
            "Attendance can be recorded once the session has ended "
            f"({session_when(session)})."
        )


def _check_no_certificate(absent: set[int]) -> None:
    # A certificate says the person attended: staff revoke it first, knowingly.
    names = sorted(
        Certificate.objects.filter(ticket_id__in=absent)
        .exclude(status=CertificateStatus.REVOKED)
        .values_list("ticket__attendee_name", flat=True)
    )
    if names:
        raise AttendanceError(
            f"{', '.join(names)} asked for or hold a certificate, so cannot be "
            "marked absent: revoke the certificate first, or keep them present."
        )
