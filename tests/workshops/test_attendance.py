"""Staff record who came to a session, all at once, once it has ended."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from wagtail.models import ModelLogEntry

from tests.workshops.factories import WorkshopSessionFactory, make_paid_ticket
from workshops import services
from workshops.models import Certificate, Ticket, TicketStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def attendees(past_session):
    return [
        make_paid_ticket(past_session, "Zoë Nguyễn", "zoe@example.com"),
        make_paid_ticket(past_session, "Łukasz Wójcik", "lukasz@example.com"),
        make_paid_ticket(past_session, "Ana Absent", "ana@example.com"),
    ]


def attended(tickets) -> dict[str, bool | None]:
    return {
        ticket.attendee_name: ticket.attended
        for ticket in Ticket.objects.filter(pk__in=[t.pk for t in tickets])
    }


def test_staff_untick_the_absent_and_save(client, sales_user, attendees, past_session):
    zoe, lukasz, ana = attendees
    client.force_login(sales_user)
    url = f"/admin/workshops/sessions/{past_session.pk}/attendance/"
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    # Everyone starts ticked: most people come.
    for ticket in attendees:
        assert re.search(rf'value="{ticket.pk}"[^>]*checked', body), ticket

    response = client.post(url, {"present": [zoe.pk, lukasz.pk]})
    assert response.status_code == 302
    assert attended(attendees) == {
        "Zoë Nguyễn": True,
        "Łukasz Wójcik": True,
        "Ana Absent": False,
    }
    page = client.get(url).content.decode()
    assert "Attendance saved: 2 present, 1 absent." in page
    entries = ModelLogEntry.objects.filter(action="workshops.ticket.attendance")
    assert entries.count() == 3
    assert {entry.user_id for entry in entries} == {sales_user.pk}
    assert entries.get(object_id=str(ana.pk)).data["attended"] is False


def test_saving_the_same_attendance_again_logs_nothing_new(attendees, past_session):
    ids = [ticket.pk for ticket in attendees]
    services.session_attendance_record(
        session_id=past_session.pk, attended_ticket_ids=ids
    )
    result = services.session_attendance_record(
        session_id=past_session.pk, attended_ticket_ids=ids
    )
    assert (result.present, result.absent, result.changed) == (3, 0, 0)
    assert (
        ModelLogEntry.objects.filter(action="workshops.ticket.attendance").count() == 3
    )


def test_attendance_is_refused_before_the_session_ends(client, sales_user, session):
    ticket = make_paid_ticket(session, "Early Bird", "early@example.com")
    client.force_login(sales_user)
    url = f"/admin/workshops/sessions/{session.pk}/attendance/"
    page = client.get(url).content.decode()
    assert "Attendance can be recorded once the session has ended" in page
    assert "Save attendance" not in page
    client.post(url, {"present": [ticket.pk]})
    ticket.refresh_from_db()
    assert ticket.attended is None
    with pytest.raises(services.AttendanceError, match="once the session has ended"):
        services.session_attendance_record(
            session_id=session.pk, attended_ticket_ids=[ticket.pk]
        )


def test_a_session_under_way_is_not_over(workshop):
    now = timezone.now()
    running = WorkshopSessionFactory(workshop=workshop, date=now.date())
    running.starts_at, running.ends_at = now - timedelta(hours=1), now + timedelta(1)
    assert not running.has_ended(now=now)
    assert running.has_ended(now=now + timedelta(days=2))


def test_a_ticket_not_on_the_list_changes_nothing(attendees, past_session, session):
    stranger = make_paid_ticket(session, "Elsewhere", "elsewhere@example.com")
    cancelled = attendees[2]
    Ticket.objects.filter(pk=cancelled.pk).update(status=TicketStatus.CANCELLED)
    for intruder in (stranger, cancelled):
        with pytest.raises(services.AttendanceError, match="no longer on this"):
            services.session_attendance_record(
                session_id=past_session.pk,
                attended_ticket_ids=[attendees[0].pk, intruder.pk],
            )
    assert set(attended(attendees).values()) == {None}


def test_someone_with_a_certificate_cannot_be_marked_absent(attendees, past_session):
    zoe, lukasz, ana = attendees
    services.session_attendance_record(
        session_id=past_session.pk, attended_ticket_ids=[zoe.pk, lukasz.pk, ana.pk]
    )
    services.certificate_request(ticket_id=zoe.pk)
    with pytest.raises(services.AttendanceError, match="Zoë Nguyễn asked for or"):
        services.session_attendance_record(
            session_id=past_session.pk, attended_ticket_ids=[lukasz.pk]
        )
    assert set(attended(attendees).values()) == {True}
    Certificate.objects.all().delete()


def test_the_attendee_list_of_a_session_leads_to_its_attendance(
    client, sales_user, attendees, past_session
):
    client.force_login(sales_user)
    page = client.get(f"/admin/workshops/tickets/?session={past_session.pk}")
    assert f"/admin/workshops/sessions/{past_session.pk}/attendance/" in page.text
    dashboard = client.get("/admin/")
    assert "Recent sessions: attendance and certificates" in dashboard.text
    assert f"/admin/workshops/sessions/{past_session.pk}/attendance/" in dashboard.text


def test_editors_cannot_record_attendance(client, editor_user, attendees, past_session):
    client.force_login(editor_user)
    url = f"/admin/workshops/sessions/{past_session.pk}/attendance/"
    # Wagtail answers a refusal in its admin with a redirect and a message.
    assert client.get(url).status_code in {302, 403}
    assert client.post(url, {"present": []}).status_code in {302, 403}
    assert set(attended(attendees).values()) == {None}
    assert "Recent sessions" not in client.get("/admin/").text
