"""Date-change notices: a material change published once reaches each holder once."""

from contextlib import contextmanager
from datetime import time, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from home.models import SiteSettings
from tests.workshops.calendars import calendar_part
from tests.workshops.factories import WorkshopSessionFactory, make_paid_ticket
from workshops import services
from workshops.models import (
    ChangeKind,
    NoticeState,
    SessionChange,
    SessionNotice,
    SessionStatus,
    WorkshopPage,
    WorkshopSession,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(home_page):
    from wagtail.models import Site

    site = Site.objects.get(is_default_site=True)
    settings_row = SiteSettings.for_site(site)
    settings_row.organisation_name = "Inclusive Rooms"
    settings_row.contact_email = "hello@inclusive.example"
    settings_row.save()
    return settings_row


@pytest.fixture
def session(workshop, contact):
    return WorkshopSessionFactory(
        workshop=workshop,
        date=timezone.localdate() + timedelta(days=30),
        start_time=time(10),
        end_time=time(13, 30),
        time_zone="America/New_York",
    )


@pytest.fixture
def sent(commit, run_tasks):
    """Commit what the block did, then let the worker run the queued tasks."""

    @contextmanager
    def block():
        with commit():
            yield
        run_tasks()

    return block


def publish(workshop, *, message: str = "", **fields):
    """The editor changes the session's fields in the page form and publishes."""
    page = WorkshopPage.objects.get(pk=workshop.pk)
    sessions = list(page.sessions.all())
    for name, value in fields.items():
        setattr(sessions[0], name, value)
    page.sessions = sessions
    page.notice_message = message
    page.save_revision().publish()


def holders(session, count, zones=("Europe/London",)):
    tickets = []
    for number in range(count):
        ticket = make_paid_ticket(session, f"Holder {number}", f"h{number}@example.com")
        order = ticket.order
        order.buyer_time_zone = zones[number % len(zones)]
        order.save()
        tickets.append(ticket)
    return tickets


def test_a_time_change_mails_each_holder_once_with_a_calendar_update(
    workshop, session, sent
):
    holders(session, 20)
    uid = session.calendar_uid
    with sent():
        publish(workshop, start_time=time(11), end_time=time(14, 30))

    assert len(mail.outbox) == 20
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        f"h{n}@example.com" for n in range(20)
    )
    for message in mail.outbox:
        method, calendar = calendar_part(message)
        assert method == "REQUEST"
        assert calendar["METHOD"] == "REQUEST"
        event = calendar.walk("VEVENT")[0]
        assert str(event["UID"]) == uid
        assert event["SEQUENCE"] == 1
        assert str(event["ORGANIZER"]) == "mailto:hello@inclusive.example"
        attendee = event["ATTENDEE"]
        assert str(attendee) == f"mailto:{message.to[0]}"
        assert attendee.params["RSVP"] == "FALSE"
        assert event.decoded("DTSTART").hour == 11
    session.refresh_from_db()
    assert session.sequence == 1
    assert set(SessionNotice.objects.values_list("state", flat=True)) == {
        NoticeState.SENT
    }

    # The same state published again, and a title-only edit: nothing more.
    with sent():
        publish(workshop)
        page = WorkshopPage.objects.get(pk=workshop.pk)
        page.title = "Responding to Reports, revised"
        page.save_revision().publish()
    assert len(mail.outbox) == 20
    session.refresh_from_db()
    assert session.sequence == 1
    assert SessionChange.objects.count() == 1


def test_a_title_or_capacity_edit_sends_nothing(workshop, session, sent):
    holders(session, 3)
    with sent():
        publish(workshop, capacity=30, private_notes="Bring tea")
    assert mail.outbox == []
    assert session.changes.count() == 0


def test_a_draft_sends_nothing_until_published(workshop, session, sent):
    holders(session, 2)
    page = WorkshopPage.objects.get(pk=workshop.pk)
    sessions = list(page.sessions.all())
    sessions[0].start_time = time(9)
    page.sessions = sessions
    with sent():
        page.save_revision()
    assert mail.outbox == []
    session.refresh_from_db()
    assert session.start_time == time(10)


def test_the_sequence_survives_publishing_a_revision_drafted_before_it_rose(
    workshop, session, sent
):
    holders(session, 1)
    # An editor opens the page (SEQUENCE 0 in the revision) ...
    stale = WorkshopPage.objects.get(pk=workshop.pk)
    stale.sessions = list(stale.sessions.all())
    with sent():
        publish(workshop, start_time=time(12), end_time=time(15))
    assert len(mail.outbox) == 1
    # ... and publishes a title edit of that older copy later.
    sessions = list(stale.sessions.all())
    sessions[0].start_time = time(12)
    sessions[0].end_time = time(15)
    stale.sessions = sessions
    stale.title = "Renamed"
    with sent():
        stale.save_revision().publish()
    session.refresh_from_db()
    assert session.sequence == 1
    assert len(mail.outbox) == 1


def test_each_holder_sees_their_own_local_time(workshop, session, sent):
    zones = ("Europe/London", "Australia/Sydney", "America/Los_Angeles")
    holders(session, 3, zones=zones)
    with sent():
        publish(
            workshop,
            message="Our trainer's flight moved.",
            start_time=time(11),
            end_time=time(14, 30),
        )
    by_address = {message.to[0]: message for message in mail.outbox}
    day = session.date
    expectations = {
        # 11:00 in New York is 16:00 in London, 08:00 in Los Angeles and the
        # next morning in Sydney (where the day has moved on).
        "h0@example.com": "4:00 PM",
        "h1@example.com": "3:00 AM",
        "h2@example.com": "8:00 AM",
    }
    for address, local in expectations.items():
        body = by_address[address].body
        assert "Now: " in body and local in body, body
        assert "11:00 AM–2:30 PM" in body  # the session's own zone, beside it
        assert "Our trainer's flight moved." in body
        assert "Was: " in body and "10:00 AM–1:30 PM" in body
    assert day.strftime("%Y") in by_address["h0@example.com"].body
    # Used once: the next edit starts with an empty message.
    assert WorkshopPage.objects.get(pk=workshop.pk).notice_message == ""


def test_a_cancellation_sends_cancel_and_says_what_happens_to_the_ticket(
    workshop, session, sent
):
    holders(session, 2)
    # A later date with seats: the holders may move there from the ticket page.
    WorkshopSessionFactory(workshop=workshop, date=session.date + timedelta(days=14))
    with sent():
        publish(workshop, status=SessionStatus.CANCELLED)
    assert len(mail.outbox) == 2
    message = mail.outbox[0]
    method, calendar = calendar_part(message)
    assert method == "CANCEL" and calendar["METHOD"] == "CANCEL"
    event = calendar.walk("VEVENT")[0]
    assert event["STATUS"] == "CANCELLED"
    assert event["SEQUENCE"] == 1
    assert "Cancelled" in message.subject
    assert "refunded in full" in message.body
    assert "another date" in message.body and "/tickets/" in message.body
    assert SessionChange.objects.get().kind == ChangeKind.CANCELLED


def test_a_cancellation_with_no_other_date_offers_only_the_refund(
    workshop, session, sent
):
    holders(session, 1)
    with sent():
        publish(workshop, status=SessionStatus.CANCELLED)
    [message] = mail.outbox
    assert "we refund it in full" in message.body
    assert "Move it to another date" not in message.body


def test_the_feed_and_the_session_file_show_the_new_sequence(
    client, workshop, session, sent
):
    holders(session, 1)
    with sent():
        publish(workshop, date=session.date + timedelta(days=7))
    body = client.get(f"/calendar/sessions/{session.pk}.ics").content
    assert b"SEQUENCE:1" in body
    feed = client.get("/calendar/workshops.ics").content
    assert b"SEQUENCE:1" in feed


def test_a_run_twice_sends_nobody_twice_and_a_killed_send_is_not_repeated(
    workshop, session, sent
):
    holders(session, 5)
    stopped = []

    def die_after_second(point):
        if point == "sent":
            stopped.append(point)
            if len(stopped) == 2:
                raise KeyboardInterrupt  # as a kill would, mid-run

    with sent():
        publish(workshop, start_time=time(9), end_time=time(12))
    # The task ran on commit; run the sender again, as a retry would.
    assert services.session_notices_send(session_id=session.pk) == 0
    assert len(mail.outbox) == 5

    # A second change, whose sender dies right after its second email.
    mail.outbox.clear()
    publish(workshop, start_time=time(8), end_time=time(11))
    with pytest.raises(KeyboardInterrupt):
        services.session_notices_send(
            session_id=session.pk, checkpoint=die_after_second
        )
    assert len(mail.outbox) == 2
    # The rerun sends the rest; the one in flight is not sent again, and once
    # its lease passes it shows as uncertain for staff.
    later = timezone.now() + timedelta(hours=1)
    assert services.session_notices_send(session_id=session.pk, now=lambda: later) == 3
    assert len(mail.outbox) == 5
    assert len({m.to[0] for m in mail.outbox}) == 5
    change = session.changes.first()
    states = sorted(change.notices.values_list("state", flat=True))
    assert states == sorted([NoticeState.SENT] * 4 + [NoticeState.UNCERTAIN])


def test_staff_resend_one_notice(workshop, session, sent):
    holders(session, 2)
    with sent():
        publish(workshop, start_time=time(9), end_time=time(12))
    notice = SessionNotice.objects.first()
    with sent():
        services.session_notice_resend(notice_id=notice.pk)
    assert len(mail.outbox) == 3
    assert mail.outbox[-1].to == [notice.email]
    with pytest.raises(services.NoticeError):
        SessionNotice.objects.filter(pk=notice.pk).update(state=NoticeState.QUEUED)
        services.session_notice_resend(notice_id=notice.pk)


def test_a_moved_ticket_gets_cancel_for_the_old_and_request_for_the_new(
    workshop, session, sent
):
    (ticket,) = holders(session, 1)
    other = WorkshopSessionFactory(
        workshop=workshop, date=session.date + timedelta(days=14)
    )
    ticket.session = other
    ticket.save()
    with sent():
        services.ticket_moved_notify(ticket_id=ticket.pk, from_session_id=session.pk)
        # Called twice (a retried request): still one pair.
        services.ticket_moved_notify(ticket_id=ticket.pk, from_session_id=session.pk)
    methods = {}
    for message in mail.outbox:
        method, calendar = calendar_part(message)
        methods[method] = str(calendar.walk("VEVENT")[0]["UID"])
    assert methods == {"CANCEL": session.calendar_uid, "REQUEST": other.calendar_uid}
    assert len(mail.outbox) == 2


def test_the_demo_session_can_be_moved_and_its_holders_are_told(demo_content, sent):
    from workshops.demo_notices import MOVABLE_UID, SOLD_OUT_UID

    session = WorkshopSession.objects.get(calendar_uid=MOVABLE_UID)
    sold_out = WorkshopSession.objects.get(calendar_uid=SOLD_OUT_UID)
    assert sold_out.is_sold_out and sold_out.waitlist.count() == 3
    mail.outbox.clear()
    page = WorkshopPage.objects.get(pk=session.workshop_id)
    sessions = list(page.sessions.all())
    for each in sessions:
        if each.pk == session.pk:
            each.start_time, each.end_time = time(12), time(15, 30)
    page.sessions = sessions
    with sent():
        page.save_revision().publish()
    assert len(mail.outbox) == 3
    assert {calendar_part(message)[0] for message in mail.outbox} == {"REQUEST"}


def test_an_editor_moves_a_session_in_the_admin_with_a_message(
    admin_client, workshop, contact, sent
):
    from tests.workshops.test_sessions import page_form, session_form

    admin_client.post(
        f"/admin/pages/{workshop.pk}/edit/",
        page_form(workshop, [session_form()], **{"action-publish": "1"}),
    )
    session = WorkshopSession.objects.get()
    holders(session, 2)
    with sent():
        response = admin_client.post(
            f"/admin/pages/{workshop.pk}/edit/",
            page_form(
                workshop,
                [session_form(id=session.pk, start_time="11:00", end_time="14:30")],
                existing=1,
                notice_message="Sorry for the change: our trainer's flight moved.",
                **{"action-publish": "1"},
            ),
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    assert "our trainer's flight moved" in mail.outbox[0].body
    assert calendar_part(mail.outbox[0])[1].walk("VEVENT")[0]["SEQUENCE"] == 1
    # The next edit starts with an empty message.
    form = admin_client.get(f"/admin/pages/{workshop.pk}/edit/").content.decode()
    assert "our trainer&#x27;s flight moved" not in form
    assert "flight moved" not in form
    # The notice log shows both, delivered.
    log = admin_client.get(
        f"/admin/workshops/notices/?session={session.pk}&state=sent"
    ).content.decode()
    assert "h0@example.com" in log and "h1@example.com" in log
    assert "Send again" in log


def test_the_notice_comes_from_the_organizer_when_the_domain_may_send_as_it(
    workshop, session, sent, settings
):
    holders(session, 1)
    settings.DEFAULT_FROM_EMAIL = "Bookings <bookings@inclusive.example>"
    with sent():
        publish(workshop, start_time=time(9), end_time=time(12))
    assert mail.outbox[0].from_email == "Inclusive Rooms <hello@inclusive.example>"
    settings.DEFAULT_FROM_EMAIL = "Workshops <hello@mailer.example>"
    with sent():
        publish(workshop, start_time=time(8), end_time=time(11))
    assert mail.outbox[1].from_email == "Workshops <hello@mailer.example>"
    assert mail.outbox[1].reply_to == ["hello@inclusive.example"]


def test_through_a_provider_api_the_calendar_rides_as_a_typed_attachment(
    workshop, session, settings
):
    # Mailgun's API (through anymail) takes a text and an HTML body only.
    from home.email import carries_calendar_alternative

    assert not carries_calendar_alternative("anymail.backends.mailgun.EmailBackend")
    assert carries_calendar_alternative("django.core.mail.backends.smtp.EmailBackend")
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_API_KEY": "key"}
    holders(session, 1)
    # Built, not sent: the task's message, as the provider would receive it.
    publish(workshop, start_time=time(9), end_time=time(12))
    notice = SessionNotice.objects.get()
    message, _ = services.notices._notice_message(notice)
    assert [mimetype for _, mimetype in message.alternatives] == ["text/html"]
    [(name, content, mimetype)] = message.attachments
    assert (name, mimetype) == ("invite.ics", "text/calendar; method=REQUEST")
    assert Calendar.from_ical(content)["METHOD"] == "REQUEST"
