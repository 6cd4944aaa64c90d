"""Demo content for date-change notices and waiting lists.

A session with ticket holders in three time zones, whose time an editor can
change in the admin to see the notice, with its calendar part, in the console;
and a sold-out session with people waiting for a seat.
"""

from datetime import time, timedelta
from typing import TextIO

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from .models import (
    Order,
    OrderStatus,
    PaymentMethod,
    Ticket,
    TicketStatus,
    TicketType,
    WaitlistEntry,
    WorkshopPage,
    WorkshopSession,
)

MOVABLE_UID = "demo-date-change@tidewell.example"
SOLD_OUT_UID = "demo-sold-out@tidewell.example"
# Fictional people; each bought in their own zone, so each notice differs.
HOLDERS = [
    ("Mererangi Walker", "mererangi.walker@example.com", "Pacific/Auckland"),
    ("Ifeoma Chukwu", "ifeoma.chukwu@example.com", "Europe/London"),
    ("Diego Fernández", "diego.fernandez@example.com", "America/Los_Angeles"),
]
SOLD_OUT_HOLDERS = [
    ("Hana Kobayashi", "hana.kobayashi@example.com", "Asia/Tokyo"),
    ("Amara Okafor", "amara.okafor@example.com", "Africa/Lagos"),
]
WAITING = [
    ("Priya Raman", "priya.raman@example.com"),
    ("Tomás Ó Briain", "tomas.obriain@example.com"),
    ("Lindiwe Dube", "lindiwe.dube@example.com"),
]


def load(*, stdout: TextIO) -> None:
    seat = TicketType.objects.filter(seats_per_ticket=1, active=True).first()
    workshop = seat.workshops.live().first() if seat else None
    if workshop is None:
        return
    today = timezone.localdate()
    movable = ensure_session(
        workshop,
        uid=MOVABLE_UID,
        date=today + timedelta(days=45),
        start=time(11),
        end=time(14, 30),
        zone="America/New_York",
        label="Try a date change",
    )
    ensure_holders(movable, seat, HOLDERS)
    sold_out = ensure_session(
        workshop,
        uid=SOLD_OUT_UID,
        date=today + timedelta(days=52),
        start=time(9),
        end=time(12, 30),
        zone="Europe/London",
        label="Sold out, with a waiting list",
        capacity=len(SOLD_OUT_HOLDERS),
    )
    ensure_holders(sold_out, seat, SOLD_OUT_HOLDERS)
    for name, email in WAITING:
        WaitlistEntry.objects.get_or_create(
            session=sold_out, email=email, defaults={"name": name}
        )
    edit = settings.BASE_URL + reverse("wagtailadmin_pages:edit", args=[workshop.pk])
    stdout.write(
        f"Date-change demo: in {edit} move the session “Try a date change” "
        f"({movable.date:%-d %B}) and publish; its {len(HOLDERS)} holders' emails, "
        "with their calendar update, appear in this console.\n"
        f"Waiting-list demo: the session of {sold_out.date:%-d %B} is sold out with "
        f"{len(WAITING)} people waiting (Notices → Waiting lists).\n"
    )


def ensure_session(
    workshop: WorkshopPage,
    *,
    uid: str,
    date,
    start,
    end,
    zone,
    label: str,
    capacity: int | None = None,
) -> WorkshopSession:
    session = WorkshopSession.objects.filter(calendar_uid=uid).first()
    if session is not None:
        return session
    # The live page with every session as stored (some were made without a
    # revision), so publishing it removes none of them.
    workshop = WorkshopPage.objects.get(pk=workshop.pk)
    workshop.sessions.add(
        WorkshopSession(
            calendar_uid=uid,
            date=date,
            start_time=start,
            end_time=end,
            time_zone=zone,
            audience_label=label,
            capacity=capacity,
            meeting_url=f"https://meet.tidewell.example/{workshop.slug}-{date:%Y%m%d}",
        )
    )
    # Through a revision, so the page's next edit keeps the session.
    workshop.save_revision().publish()
    return WorkshopSession.objects.get(calendar_uid=uid)


def ensure_holders(
    session: WorkshopSession, seat: TicketType, people: list[tuple[str, str, str]]
) -> None:
    for name, email, zone in people:
        if Ticket.objects.filter(session=session, attendee_email=email).exists():
            continue
        order = Order.objects.create(
            session=session,
            ticket_type=seat,
            quantity=1,
            unit_price=seat.price,
            total=seat.price,
            buyer_name=name,
            buyer_email=email,
            buyer_time_zone=zone,
            payment_method=PaymentMethod.DEMO,
            status=OrderStatus.PAID,
            paid_at=timezone.now() - timedelta(days=3),
        )
        Ticket.objects.create(
            order=order,
            session=session,
            attendee_name=name,
            attendee_email=email,
            status=TicketStatus.VALID,
        )
