"""Sessions as editors set them: times in a zone, validation, calendar identity."""

from datetime import UTC, date, datetime, time

import pytest
from django.core.exceptions import ValidationError
from wagtail.test.utils.form_data import inline_formset, nested_form_data, streamfield

from tests.workshops.factories import WorkshopSessionFactory
from workshops.models import WorkshopPage, WorkshopSession

pytestmark = pytest.mark.django_db


def test_times_are_kept_in_the_session_zone_and_stored_in_utc(workshop):
    session = WorkshopSessionFactory(
        workshop=workshop,
        date=date(2027, 3, 3),
        start_time=time(9, 30),
        end_time=time(13),
        time_zone="Australia/Sydney",
    )
    assert session.starts_at == datetime(2027, 3, 2, 22, 30, tzinfo=UTC)
    assert session.ends_at == datetime(2027, 3, 3, 2, 0, tzinfo=UTC)
    assert session.local_start.utcoffset().total_seconds() == 11 * 3600


def test_a_session_without_an_end_uses_the_workshop_run_time(workshop):
    session = WorkshopSessionFactory(workshop=workshop, end_time=None)
    assert (session.ends_at - session.starts_at).total_seconds() == 210 * 60


def test_a_session_without_a_time_spans_its_whole_local_day(workshop):
    session = WorkshopSessionFactory(
        workshop=workshop,
        date=date(2027, 2, 16),
        start_time=None,
        end_time=None,
        time_zone="America/Los_Angeles",
    )
    assert session.time_to_be_announced
    assert session.is_tentative
    assert session.starts_at == datetime(2027, 2, 16, 8, tzinfo=UTC)
    assert session.ends_at == datetime(2027, 2, 17, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"start_time": time(14), "end_time": time(13)}, "end_time", "ends before"),
        ({"start_time": None, "end_time": time(13)}, "end_time", "start time first"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "not a time zone"),
        ({"alternative_date": date(2027, 3, 3)}, "alternative_date", "same as"),
    ],
)
def test_bad_sessions_are_refused_with_a_clear_message(
    workshop, fields, field, message
):
    values = {"date": date(2027, 3, 3), "start_time": time(10), "end_time": time(12)}
    session = WorkshopSession(workshop=workshop, **{**values, **fields})
    with pytest.raises(ValidationError) as error:
        session.full_clean()
    assert message in " ".join(error.value.message_dict[field])


def session_form(**overrides) -> dict:
    fields = {
        "date": "2027-03-03",
        "start_time": "10:00",
        "end_time": "13:30",
        "time_zone": "Europe/London",
        "audience_label": "UK",
        "status": "scheduled",
        "capacity": "",
        "alternative_date": "",
        "meeting_url": "https://meet.example/private-room",
        "private_notes": "Door code 4321",
    }
    return {**fields, **overrides}


def page_form(
    workshop: WorkshopPage, sessions: list[dict], *, existing: int = 0, **extra
) -> dict:
    return nested_form_data(
        {
            "title": workshop.title,
            "slug": workshop.slug,
            "summary": workshop.summary,
            "body": streamfield([]),
            "duration_minutes": workshop.duration_minutes,
            "breaks": "",
            "platform": "Zoom",
            "capacity": workshop.capacity,
            "price": "350.00",
            "sessions": inline_formset(sessions, initial=existing),
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"start_time": "14:00", "end_time": "13:00"},
            "The session ends before it starts",
        ),
        ({"time_zone": "Europe/Atlantis"}, "is not a time zone we know"),
        ({"capacity": "-3"}, "greater than or equal to 0"),
    ],
)
def test_the_admin_refuses_bad_sessions_and_saves_nothing(
    admin_client, workshop, overrides, message
):
    response = admin_client.post(
        f"/admin/pages/{workshop.pk}/edit/",
        page_form(workshop, [session_form(**overrides)], **{"action-publish": "1"}),
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not WorkshopSession.objects.exists()


def test_editing_a_session_keeps_its_calendar_uid_and_private_fields(
    admin_client, workshop
):
    admin_client.post(
        f"/admin/pages/{workshop.pk}/edit/",
        page_form(workshop, [session_form()], **{"action-publish": "1"}),
    )
    session = WorkshopSession.objects.get()
    uid = session.calendar_uid

    admin_client.post(
        f"/admin/pages/{workshop.pk}/edit/",
        page_form(
            workshop,
            [session_form(id=session.pk, start_time="11:00", end_time="14:30")],
            existing=1,
            **{"action-publish": "1"},
        ),
    )
    session.refresh_from_db()
    assert session.start_time == time(11)
    assert session.calendar_uid == uid
    assert session.meeting_url == "https://meet.example/private-room"


def test_copying_a_workshop_leaves_its_dates_behind(workshop):
    WorkshopSessionFactory(workshop=workshop)
    copy = workshop.copy(update_attrs={"slug": "copy", "title": "Copy"})
    assert copy.sessions.count() == 0
    assert workshop.sessions.count() == 1
