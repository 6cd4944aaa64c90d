"""The schedule and the feed stay the same size however many sessions were published."""

from datetime import timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar

from tests.workshops.factories import WorkshopSessionFactory
from workshops.selectors import (
    FEED_HISTORY,
    SCHEDULE_PAGE_SESSIONS,
    WORKSHOP_PAGE_SESSIONS,
)

pytestmark = pytest.mark.django_db


def sessions(workshop, count: int, *, start: int = 3):
    today = timezone.localdate()
    return [
        WorkshopSessionFactory(
            workshop=workshop,
            date=today + timedelta(days=start + number),
            audience_label=f"Date {number}",
        )
        for number in range(count)
    ]


def test_the_schedule_shows_a_page_of_dates_then_later_ones(client, schedule, workshop):
    sessions(workshop, SCHEDULE_PAGE_SESSIONS + 5)
    first = client.get(schedule.url).content.decode()
    assert first.count('class="session__audience"') == SCHEDULE_PAGE_SESSIONS
    assert "Date 39</p>" in first
    assert "Date 40</p>" not in first
    assert 'href="?page=2" rel="next">Later dates' in first
    later = client.get(schedule.url, {"page": 2}).content.decode()
    assert later.count('class="session__audience"') == 5
    assert "Date 40</p>" in later
    assert "Later dates" not in later
    assert f'href="{schedule.url}" rel="prev">Earlier dates' in later


@pytest.mark.parametrize("number", ["9", "abc", "-3", "99999999999999999999"])
def test_any_page_number_gets_a_sensible_page(client, schedule, workshop, number):
    sessions(workshop, 2)
    response = client.get(schedule.url, {"page": number})
    assert response.status_code == 200
    html = response.content.decode()
    if number in ("abc", "-3"):
        assert "Date 1</p>" in html
    else:
        assert "No more dates are published yet" in html


def test_a_workshop_page_lists_its_next_dates_and_points_to_the_rest(
    client, schedule, workshop
):
    sessions(workshop, WORKSHOP_PAGE_SESSIONS + 1)
    html = client.get(workshop.url).content.decode()
    assert html.count('class="session__audience"') == WORKSHOP_PAGE_SESSIONS
    assert "See every date on the schedule" in html
    assert f'href="{schedule.url}"' in html


def test_the_feed_holds_the_coming_dates_and_a_short_past(client, workshop):
    today = timezone.localdate()
    recent = WorkshopSessionFactory(workshop=workshop, date=today - timedelta(days=7))
    WorkshopSessionFactory(
        workshop=workshop, date=today - FEED_HISTORY - timedelta(days=3)
    )
    WorkshopSessionFactory(workshop=workshop, date=today + timedelta(days=600))
    coming = WorkshopSessionFactory(workshop=workshop, date=today + timedelta(days=60))
    feed = Calendar.from_ical(client.get("/calendar/workshops.ics").content)
    uids = {str(event["UID"]) for event in feed.walk("VEVENT")}
    assert uids == {recent.calendar_uid, coming.calendar_uid}
