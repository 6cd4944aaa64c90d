"""Every email that gives someone a ticket carries it as an iMIP invitation: the
UID and SEQUENCE later notices update, from the organizer, to the holder."""

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar
from wagtail.models import Site

from home.email import render_templated_email
from home.models import SiteSettings
from tests.workshops.calendars import calendar_part, calendar_parts, mime_shape
from tests.workshops.checkout import book, checkout_form
from tests.workshops.factories import (
    TicketTypeFactory,
    WorkshopSessionFactory,
    make_paid_ticket,
)
from tests.workshops.test_codes import make_code
from tests.workshops.test_notices import publish
from workshops import services
from workshops.models import Order, TicketStatus, WaitlistStatus

pytestmark = pytest.mark.django_db

INVITE_SHAPE = [
    "multipart/mixed",
    [
        ["multipart/alternative", ["text/plain", "text/html", "text/calendar"]],
        "application/ics",
    ],
]


@pytest.fixture(autouse=True)
def contact(home_page):
    row = SiteSettings.for_site(Site.objects.get(is_default_site=True))
    row.organisation_name = "Inclusive Rooms"
    row.contact_email = "hello@inclusive.example"
    row.save()
    return row


@pytest.fixture
def session(workshop):
    return WorkshopSessionFactory(
        workshop=workshop,
        date=timezone.localdate() + timedelta(days=30),
        start_time=time(10),
        end_time=time(13),
        meeting_url="https://meet.example/room-9",
    )


def the_invitation(message, *, method="REQUEST"):
    """The one event of a message's invitation, checked as a client reads it."""
    assert mime_shape(message) == INVITE_SHAPE
    mime_method, calendar = calendar_part(message)
    assert mime_method == method == calendar["METHOD"]
    # Both parts carry the same single iCalendar object of one UID.
    [(_, alternative), (_, attached)] = calendar_parts(message)
    assert alternative.to_ical() == attached.to_ical()
    [event] = calendar.walk("VEVENT")
    assert str(event["ORGANIZER"]) == "mailto:hello@inclusive.example"
    assert event["ORGANIZER"].params["CN"] == "Inclusive Rooms"
    [attendee] = [event["ATTENDEE"]]
    assert str(attendee) == f"mailto:{message.to[0]}"
    assert attendee.params["RSVP"] == "FALSE"
    assert message.reply_to == ["hello@inclusive.example"]
    return event


def pay(client, stripe, order):
    stripe.complete(order.stripe_checkout_session_id)
    client.get(f"/orders/{order.token}/")


def test_a_card_purchase_invites_the_buyer_and_a_later_change_updates_that_entry(
    client, stripe, workshop, session, seat, commit, run_tasks
):
    book(client, session, seat, attendees=[("Ada Buyer", "ada@example.com")])
    order = Order.objects.get()
    with commit():
        pay(client, stripe, order)
    [receipt] = mail.outbox
    assert receipt.to == ["ada@example.com"]
    first = the_invitation(receipt)
    assert str(first["UID"]) == session.calendar_uid
    assert first["SEQUENCE"] == 0
    assert "room-9" in str(first["LOCATION"])
    assert "in the attached calendar entry" in receipt.body

    with commit():
        publish(workshop, start_time=time(11), end_time=time(14))
    run_tasks()
    [receipt, notice] = mail.outbox
    update = the_invitation(notice)
    assert str(update["UID"]) == str(first["UID"])
    assert update["SEQUENCE"] == first["SEQUENCE"] + 1
    assert update.decoded("DTSTART").hour == 11

    # A ticket bought after the change starts from the SEQUENCE holders have.
    mail.outbox.clear()
    book(
        client,
        session,
        seat,
        attendees=[("Ben", "ben@example.com")],
        buyer_email="ben@example.com",
    )
    later = Order.objects.exclude(pk=order.pk).get()
    with commit():
        pay(client, stripe, later)
    assert the_invitation(mail.outbox[0])["SEQUENCE"] == 1


def test_several_dates_come_as_one_invitation_each_never_in_one_message(
    client, stripe, workshop, session, seat, commit
):
    later = WorkshopSessionFactory(
        workshop=workshop, date=timezone.localdate() + timedelta(days=60)
    )
    people = [
        ("Ada Buyer", "ada@example.com"),
        ("Grace", "grace@example.com"),
        ("Ada Buyer", "ada@example.com"),
    ]
    data = checkout_form(seat, quantity=2, attendees=people)
    data[f"also_{later.pk}"] = 1
    client.post(f"/book/{session.pk}/", data)
    order = Order.objects.get()
    with commit():
        pay(client, stripe, order)

    receipt, *others = mail.outbox
    assert receipt.to == ["ada@example.com"]
    # The receipt lists every ticket and carries no calendar: Ada holds two
    # dates, and one iMIP message carries one object of one UID.
    assert calendar_parts(receipt) == []
    assert "follows, one email per date" in receipt.body
    assert "grace@example.com" in receipt.body
    invitations = {}
    for message in others:
        event = the_invitation(message)
        invitations.setdefault(message.to[0], []).append(str(event["UID"]))
    assert sorted(invitations["ada@example.com"]) == sorted(
        [session.calendar_uid, later.calendar_uid]
    )
    assert invitations["grace@example.com"] == [session.calendar_uid]
    assert len(others) == 3


def test_a_buyer_who_does_not_attend_gets_no_calendar_entry(
    client, stripe, session, seat, commit
):
    book(client, session, seat, quantity=2)  # attendee0 and attendee1
    with commit():
        pay(client, stripe, Order.objects.get())
    receipt, *tickets = mail.outbox
    assert receipt.to == ["ada@example.com"]
    assert calendar_parts(receipt) == []
    assert sorted(m.to[0] for m in tickets) == [
        "attendee0@example.com",
        "attendee1@example.com",
    ]
    for message in tickets:
        assert str(the_invitation(message)["UID"]) == session.calendar_uid


def test_a_seat_code_redemption_is_an_invitation(client, session, seat, commit):
    _, code = make_code()
    mail.outbox.clear()
    with commit():
        client.post(
            f"/book/{session.pk}/",
            checkout_form(
                seat, seat_code=code, attendees=[("Ada Buyer", "ada@example.com")]
            ),
        )
    [receipt] = mail.outbox
    assert str(the_invitation(receipt)["UID"]) == session.calendar_uid


def test_a_waiting_list_booking_is_an_invitation(client, workshop, commit):
    full = WorkshopSessionFactory(
        workshop=workshop, capacity=1, date=timezone.localdate() + timedelta(days=20)
    )
    TicketTypeFactory(workshops=[workshop], price=Decimal("0"), name="Free seat")
    holder = make_paid_ticket(full, "Holder", "holder@example.com")
    entry = services.waitlist_join(
        session_id=full.pk, name="Ada", email="ada@example.com"
    )
    holder.status = TicketStatus.CANCELLED
    holder.save()
    services.session_waitlist_offer(session_id=full.pk)
    entry.refresh_from_db()
    mail.outbox.clear()
    with commit():
        client.post(f"/waiting-list/place/{entry.token}/", {"action": "take"})
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.BOOKED
    [receipt] = mail.outbox
    assert receipt.to == ["ada@example.com"]
    assert str(the_invitation(receipt)["UID"]) == full.calendar_uid


def test_a_staff_move_invites_to_the_new_date_and_withdraws_the_old(
    workshop, session, commit, run_tasks
):
    ticket = make_paid_ticket(session, "Ada", "ada@example.com")
    other = WorkshopSessionFactory(
        workshop=workshop, date=session.date + timedelta(days=7)
    )
    with commit():
        services.ticket_move(ticket_id=ticket.pk, session_id=other.pk)
    run_tasks()
    events = {
        calendar_part(message)[0]: the_invitation(
            message, method=calendar_part(message)[0]
        )
        for message in mail.outbox
    }
    assert str(events["CANCEL"]["UID"]) == session.calendar_uid
    assert str(events["REQUEST"]["UID"]) == other.calendar_uid


def test_a_seat_handed_on_invites_the_new_holder_and_withdraws_the_old_entry(
    session, commit, run_tasks
):
    ticket = make_paid_ticket(session, "Ada", "ada@example.com")
    with commit():
        services.ticket_update_attendee(
            ticket_id=ticket.pk, name="Ben", email="ben@example.com"
        )
    run_tasks()
    by_address = {message.to[0]: message for message in mail.outbox}
    new = the_invitation(by_address["ben@example.com"])
    gone = the_invitation(by_address["ada@example.com"], method="CANCEL")
    assert str(new["UID"]) == str(gone["UID"]) == session.calendar_uid
    assert str(gone["STATUS"]) == "CANCELLED"
    # The joining link leaves Ada's calendar with the seat.
    assert "room-9" not in gone.to_ical().decode()


def test_a_cancelled_ticket_withdraws_the_entry_unless_another_seat_keeps_it(
    session, commit, run_tasks
):
    ticket = make_paid_ticket(session, "Ada", "ada@example.com")
    with commit():
        services.ticket_cancel(ticket_id=ticket.pk, refund=False)
    run_tasks()
    [message] = mail.outbox
    assert str(the_invitation(message, method="CANCEL")["UID"]) == (
        session.calendar_uid
    )

    # Two seats for one address: cancelling one leaves the entry alone.
    first = make_paid_ticket(session, "Ben", "ben@example.com")
    make_paid_ticket(session, "Ben", "BEN@example.com")
    mail.outbox.clear()
    with commit():
        services.ticket_cancel(ticket_id=first.pk, refund=False)
    run_tasks()
    [message] = mail.outbox
    assert calendar_parts(message) == []


def test_public_files_stay_publish_without_organizer(client, session):
    ticket = make_paid_ticket(session, "Ada", "ada@example.com")
    for url in (
        f"/calendar/sessions/{session.pk}.ics",
        f"/tickets/{ticket.token}/calendar.ics",
        "/calendar/workshops.ics",
    ):
        calendar = Calendar.from_ical(client.get(url).content)
        assert calendar["METHOD"] == "PUBLISH"
        for event in calendar.walk("VEVENT"):
            assert "ORGANIZER" not in event and "ATTENDEE" not in event


def test_through_a_provider_api_the_ticket_invitation_is_a_typed_attachment(
    session, settings
):
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    ticket = make_paid_ticket(session, "Ada", "ada@example.com")
    message = render_templated_email(
        template="workshops/emails/ticket_issued",
        to=[ticket.attendee_email],
        context={"ticket": ticket, "order": ticket.order, "session": session},
        **services.emails.invitation(ticket),
    )
    assert [mimetype for _, mimetype in message.alternatives] == ["text/html"]
    [(name, content, mimetype)] = message.attachments
    assert (name, mimetype) == ("invite.ics", "text/calendar; method=REQUEST")
    assert Calendar.from_ical(content)["METHOD"] == "REQUEST"
