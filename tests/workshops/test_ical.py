"""Calendar files: what calendar apps read from a session and from the feed."""

from datetime import date, time, timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar

from tests.workshops.factories import WorkshopSessionFactory
from workshops.ical import google_calendar_url, session_ics
from workshops.models import SessionStatus

pytestmark = pytest.mark.django_db


def parse(body: bytes) -> Calendar:
    return Calendar.from_ical(body)


def test_a_session_file_holds_what_calendar_apps_need(workshop):
    session = WorkshopSessionFactory(
        workshop=workshop,
        date=date(2027, 3, 3),
        start_time=time(9, 30),
        end_time=time(13),
        time_zone="Australia/Sydney",
        audience_label="Australian time",
        meeting_url="https://meet.example/secret-room",
        private_notes="Backup facilitator: Sam",
    )
    calendar = parse(session_ics(session, url="https://site.example/w/"))
    assert calendar["METHOD"] == "PUBLISH"
    [event] = calendar.events
    assert event["UID"] == session.calendar_uid
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "CONFIRMED"
    assert event["URL"] == "https://site.example/w/"
    assert event["SUMMARY"] == "Responding to Reports (Australian time)"
    assert event.start == session.local_start
    assert event.end == session.local_end
    assert event["DTSTART"].params["TZID"] == "Australia/Sydney"
    assert event.stamp is not None
    assert [tz.tz_name for tz in calendar.timezones] == ["Australia/Sydney"]
    assert "ORGANIZER" not in event
    raw = session_ics(session, url="https://site.example/w/").decode()
    assert "secret-room" not in raw
    assert "Backup facilitator" not in raw


def test_tbd_sessions_are_all_day_and_tentative(workshop):
    session = WorkshopSessionFactory(
        workshop=workshop, date=date(2027, 2, 16), start_time=None, end_time=None
    )
    [event] = parse(session_ics(session, url="https://x.example/")).events
    assert event.start == date(2027, 2, 16)
    assert event.end == date(2027, 2, 17)
    assert event["STATUS"] == "TENTATIVE"
    assert "time is to be announced" in event["DESCRIPTION"]


def test_cancelled_sessions_say_so(workshop):
    session = WorkshopSessionFactory(
        workshop=workshop, status=SessionStatus.CANCELLED, sequence=2
    )
    [event] = parse(session_ics(session, url="https://x.example/")).events
    assert event["STATUS"] == "CANCELLED"
    assert event["SEQUENCE"] == 2
    assert event["SUMMARY"].startswith("Cancelled: ")


def test_the_download_has_a_calendar_content_type_and_a_file_name(client, workshop):
    session = WorkshopSessionFactory(workshop=workshop, date=date(2027, 3, 3))
    response = client.get(f"/calendar/sessions/{session.pk}.ics")
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="responding-2027-03-03.ics"'
    )
    assert "max-age=300" in response["Cache-Control"]
    [event] = parse(response.content).events
    assert event["URL"] == workshop.full_url


def test_sessions_of_unpublished_workshops_are_not_served(client, workshop):
    session = WorkshopSessionFactory(workshop=workshop)
    workshop.unpublish()
    assert client.get(f"/calendar/sessions/{session.pk}.ics").status_code == 404
    assert not parse(client.get("/calendar/workshops.ics").content).events


def test_the_feed_lists_public_sessions_and_answers_304_when_unchanged(
    client, workshop
):
    today = timezone.localdate()
    upcoming = WorkshopSessionFactory(workshop=workshop, date=today + timedelta(days=9))
    cancelled = WorkshopSessionFactory(
        workshop=workshop,
        date=today + timedelta(days=20),
        status=SessionStatus.CANCELLED,
    )
    WorkshopSessionFactory(workshop=workshop, date=today - timedelta(days=400))

    response = client.get("/calendar/workshops.ics")
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "max-age=900" in response["Cache-Control"]
    calendar = parse(response.content)
    assert calendar["X-WR-CALNAME"] == "Harbour Test Training dates"
    assert {event["UID"]: event["STATUS"] for event in calendar.events} == {
        upcoming.calendar_uid: "CONFIRMED",
        cancelled.calendar_uid: "CANCELLED",
    }

    again = client.get("/calendar/workshops.ics", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_google_link_carries_times_and_zone(workshop):
    session = WorkshopSessionFactory(
        workshop=workshop,
        date=date(2027, 3, 3),
        start_time=time(10),
        end_time=time(13, 30),
        time_zone="Europe/London",
    )
    url = google_calendar_url(session, url="https://x.example/")
    assert "dates=20270303T100000%2F20270303T133000" in url
    assert "ctz=Europe%2FLondon" in url


def test_an_imip_request_names_the_organizer_and_the_holder(workshop):
    from workshops.ical import session_imip

    session = WorkshopSessionFactory(
        workshop=workshop,
        date=date(2027, 3, 3),
        start_time=time(9, 30),
        end_time=time(13),
        meeting_url="https://meet.example/secret-room",
    )
    stamp = timezone.now()
    calendar = parse(
        session_imip(
            session,
            method="REQUEST",
            url="https://site.example/w/",
            organizer=("Tidewell", "hello@tidewell.example"),
            attendee=("Ada", "ada@example.com"),
            stamp=stamp,
            meeting_url=session.meeting_url,
        )
    )
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.events
    assert event["UID"] == session.calendar_uid
    assert str(event["ORGANIZER"]) == "mailto:hello@tidewell.example"
    assert event["ORGANIZER"].params["CN"] == "Tidewell"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:ada@example.com"
    assert attendee.params["RSVP"] == "FALSE"
    assert "secret-room" in event["DESCRIPTION"]
    assert event.DTSTAMP.replace(microsecond=0) == stamp.replace(microsecond=0)


def test_an_imip_cancel_withdraws_without_the_joining_link(workshop):
    from workshops.ical import session_imip

    session = WorkshopSessionFactory(
        workshop=workshop, meeting_url="https://meet.example/secret-room"
    )
    body = session_imip(
        session,
        method="CANCEL",
        url="https://site.example/w/",
        organizer=("", "hello@tidewell.example"),
        attendee=("Ada", "ada@example.com"),
        stamp=timezone.now(),
        meeting_url=session.meeting_url,
    )
    calendar = parse(body)
    assert calendar["METHOD"] == "CANCEL"
    [event] = calendar.events
    assert event["STATUS"] == "CANCELLED"
    assert b"secret-room" not in body
    with pytest.raises(ValueError):
        session_imip(
            session,
            method="PUBLISH",
            url="",
            organizer=("", "x@example.com"),
            attendee=("", "y@example.com"),
            stamp=timezone.now(),
        )


def test_public_files_name_no_organizer_or_attendee(workshop):
    session = WorkshopSessionFactory(workshop=workshop)
    [event] = parse(session_ics(session, url="https://site.example/w/")).events
    assert "ORGANIZER" not in event and "ATTENDEE" not in event
