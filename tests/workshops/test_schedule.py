"""The schedule page: upcoming sessions by month, empty months explained."""

from datetime import date, time, timedelta

import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.testimonials.factories import TestimonialFactory
from tests.workshops.factories import WorkshopSessionFactory
from workshops.models import SessionStatus, WorkshopSession
from workshops.selectors import schedule_months

pytestmark = pytest.mark.django_db


def test_months_run_from_now_to_the_last_session_and_say_why_they_are_empty():
    years = schedule_months(
        sessions=[],
        months_without_workshops={1, 7},
        draft_years={2027},
        today=date(2026, 11, 28),
    )
    assert [(y.year, y.draft) for y in years] == [(2026, False), (2027, True)]
    months = [m for y in years for m in y.months]
    assert [m.first_day for m in months][:3] == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]
    assert len(months) == 6
    assert [m.first_day.month for m in months if m.no_workshops] == [1]


def test_schedule_lists_upcoming_sessions_by_month_and_hides_past_ones(
    client, schedule, workshop
):
    today = timezone.localdate()
    WorkshopSessionFactory(workshop=workshop, date=today - timedelta(days=3))
    soon = WorkshopSessionFactory(workshop=workshop, date=today + timedelta(days=40))
    cancelled = WorkshopSessionFactory(
        workshop=workshop,
        date=today + timedelta(days=70),
        status=SessionStatus.CANCELLED,
    )
    doc = BeautifulSoup(client.get(schedule.url).content, "html.parser")
    sessions = doc.select(".session")
    assert len(sessions) == 2
    month = sessions[0].find_parent("section")
    assert month.h3.string == soon.date.strftime("%B %Y")
    assert "Cancelled" in sessions[1].get_text()
    assert sessions[1].find_parent("section").h3.string == cancelled.date.strftime(
        "%B %Y"
    )


def test_months_without_workshops_and_draft_years_are_said_plainly(
    client, schedule, workshop
):
    today = timezone.localdate()
    schedule.months_without_workshops = [today.month]
    schedule.draft_years = [today.year]
    schedule.save_revision().publish()
    text = client.get(schedule.url).content.decode()
    assert f"No workshops in {today:%B}: we don’t run them this month." in text
    assert f"the {today.year} schedule is not settled yet" in text


def test_each_session_shows_its_zone_offset_seats_and_calendar_links(
    client, schedule, workshop
):
    session = WorkshopSessionFactory(
        workshop=workshop,
        date=date(timezone.localdate().year + 1, 2, 3),
        start_time=time(9, 30),
        end_time=time(13),
        time_zone="Australia/Sydney",
        audience_label="Australian time",
        capacity=16,
    )
    card = BeautifulSoup(client.get(schedule.url).content, "html.parser").select_one(
        ".session"
    )
    text = " ".join(card.get_text().split())
    assert "Australian time" in text
    assert "9:30 AM–1:00 PM AEDT (UTC+11), Australia/Sydney" in text
    assert "16 seats left" in text
    local = card.select_one("[data-local-start]")
    assert local["data-local-start"] == session.local_start.isoformat()
    assert card.find("a", href=f"/calendar/sessions/{session.pk}.ics")
    google = card.find("a", href=lambda href: "calendar.google.com" in href)
    assert "ctz=Australia%2FSydney" in google["href"]


def test_tbd_and_alternative_dates_read_naturally(client, schedule, workshop):
    year = timezone.localdate().year + 1
    WorkshopSessionFactory(
        workshop=workshop, date=date(year, 3, 12), alternative_date=date(year, 3, 19)
    )
    WorkshopSessionFactory(
        workshop=workshop, date=date(year, 4, 6), start_time=None, end_time=None
    )
    text = " ".join(
        BeautifulSoup(client.get(schedule.url).content, "html.parser")
        .get_text()
        .split()
    )
    first, second = date(year, 3, 12), date(year, 3, 19)
    assert f"{first:%A} 12 or {second:%A} 19 March {year}" in text
    assert "time to be announced" in text
    assert text.count("Tentative") == 2


def test_private_session_fields_never_reach_the_page(client, schedule, workshop):
    WorkshopSessionFactory(
        workshop=workshop,
        meeting_url="https://meet.example/secret-room",
        private_notes="Backup facilitator: Sam",
    )
    for url in (schedule.url, workshop.url):
        body = client.get(url).content.decode()
        assert "secret-room" not in body
        assert "Backup facilitator" not in body


def count_queries(client, url) -> int:
    client.get(url)  # warm caches that are per process, not per request
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def populate(workshop, sessions: int, testimonials: int) -> None:
    start = timezone.localdate() + timedelta(days=1)
    for n in range(sessions):
        WorkshopSessionFactory(workshop=workshop, date=start + timedelta(days=n * 3))
    chosen = [TestimonialFactory() for _ in range(testimonials)]
    workshop.body = [
        ("testimonials", {"heading": "Said", "testimonials": chosen}),
        ("testimonials_by_tag", {"heading": "", "tag": "", "count": 12}),
    ]
    workshop.save_revision().publish()


@pytest.mark.parametrize("page", ["schedule", "workshop"])
def test_query_count_does_not_grow_with_sessions_or_testimonials(
    client, schedule, workshop, page
):
    url = schedule.url if page == "schedule" else workshop.url
    populate(workshop, sessions=3, testimonials=3)
    few = count_queries(client, url)
    populate(workshop, sessions=57, testimonials=57)
    many = count_queries(client, url)
    assert many == few, f"{few} queries with 3 sessions, {many} with 60"


def cards(sessions, request) -> str:
    template = Template("{% load workshops_tags %}{% session_cards sessions %}")
    return template.render(Context({"sessions": sessions, "request": request}))


def test_a_preview_shows_unsaved_and_edited_sessions_uncached(rf, workshop, settings):
    settings.PAGE_CACHE_SECONDS = 60  # cards are cached with the page cache on
    saved = WorkshopSessionFactory(workshop=workshop, audience_label="Live label")
    request = rf.get("/")
    cards([saved], request)  # the live card is now cached
    saved.audience_label = "Edited, not saved"
    # Outside a preview the card is the one cached for its row.
    assert "Live label" in cards([saved], request)
    request.is_preview = True
    unsaved = WorkshopSession(
        workshop=workshop,
        date=saved.date,
        start_time=time(9),
        end_time=time(11),
        time_zone="Europe/London",
        audience_label="Brand new",
    )
    for session, label in ((saved, "Edited, not saved"), (unsaved, "Brand new")):
        html = cards([session], request)
        assert label in html
