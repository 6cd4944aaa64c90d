import re
from datetime import date, time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from tests.workshops.factories import WorkshopSessionFactory
from workshops.models import WorkshopPage


@pytest.fixture
def browser_context_options() -> dict:
    # A visitor in Tokyo, far from any session's zone.
    return {"locale": "en-US", "timezone_id": "Asia/Tokyo"}


def test_a_visitor_sees_each_session_in_their_own_time_zone(page, demo_site):
    workshop = WorkshopPage.objects.get(slug="responding-to-reports")
    year = date.today().year + 1
    WorkshopSessionFactory(
        workshop=workshop,
        date=date(year, 6, 2),
        start_time=time(10),
        end_time=time(13, 30),
        time_zone="America/New_York",
        audience_label="Tokyo check",
    )
    page.goto(workshop.url)
    card = page.locator(".session", has_text="Tokyo check")
    # 10:00–13:30 in New York (EDT, UTC−4) is 23:00–02:30 in Tokyo (UTC+9).
    expect(card.locator(".session__when")).to_contain_text(
        "10:00 AM–1:30 PM EDT (UTC−4)"
    )
    local = card.locator(".session__local")
    expect(local).to_be_visible()
    expect(local).to_contain_text("Your time (Asia/Tokyo)")
    expect(local).to_contain_text(re.compile(r"11:00\s?PM"))
    expect(local).to_contain_text(re.compile(r"2:30\s?AM GMT\+9"))


def test_without_javascript_the_zone_and_offset_are_still_there(new_page, demo_site):
    page = new_page(java_script_enabled=False)
    page.goto("/schedule/")
    first = page.locator(".session__when").first
    expect(first).to_contain_text(re.compile(r"\(UTC[+−]\d+(:\d\d)?\)"))
    expect(page.locator(".session__local").first).to_be_hidden()


def test_schedule_workshop_and_search_pages_are_accessible(page, demo_site, run_tasks):
    run_tasks()  # index the demo pages for search
    for url in [
        "/schedule/",
        "/schedule/responding-to-reports/",
        "/search/",
        "/search/?q=workshop",
        "/search/?q=nothing+matches+this",
    ]:
        page.goto(url)
        assert_accessible(page)
