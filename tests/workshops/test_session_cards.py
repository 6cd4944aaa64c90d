"""Session cards are cached across sales, and still show what changed meanwhile."""

import zoneinfo
from datetime import time, timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from home import page_cache
from tests.workshops.factories import WorkshopSessionFactory
from workshops.models import WorkshopSession

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 60
    page_cache.local_copies.clear()


@pytest.fixture
def editor():
    # A cookie of its own: the page is drawn from its fragments every time.
    client = Client()
    client.cookies["editor"] = "1"
    return client


def html_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_a_card_links_to_the_workshops_new_address_after_a_parent_moves(
    editor, schedule, workshop, django_capture_on_commit_callbacks
):
    WorkshopSessionFactory(workshop=workshop)
    old = workshop.url
    assert f'href="{old}"' in html_of(editor, schedule.url)
    with django_capture_on_commit_callbacks(execute=True):
        schedule.slug = "dates"
        schedule.save_revision().publish()
    workshop.refresh_from_db()
    assert workshop.url != old
    assert f'href="{workshop.url}"' in html_of(editor, "/dates/")


def test_a_card_stops_offering_a_seat_once_the_session_starts(editor, workshop):
    zone = zoneinfo.ZoneInfo("America/New_York")
    start = (timezone.now() + timedelta(minutes=5)).astimezone(zone)
    WorkshopSessionFactory(
        workshop=workshop,
        date=start.date(),
        start_time=time(start.hour, start.minute),
        end_time=None,
        time_zone="America/New_York",
    )
    assert "Book a seat" in html_of(editor, workshop.url)
    later = timezone.now() + timedelta(minutes=20)
    # Only the clock and another session's seats moved: the page is redrawn,
    # and its card with it, not served from before the start.
    page_cache._advance(page_cache.SEATS)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert "Book a seat" not in html_of(editor, workshop.url)


def test_cards_are_not_cached_with_the_page_cache_off(settings, editor, workshop):
    settings.PAGE_CACHE_SECONDS = 0
    session = WorkshopSessionFactory(workshop=workshop)
    html_of(editor, workshop.url)
    # A change that leaves updated_at alone, as a bulk update does.
    WorkshopSession.objects.filter(pk=session.pk).update(audience_label="Changed")
    assert "Changed" in html_of(editor, workshop.url)
