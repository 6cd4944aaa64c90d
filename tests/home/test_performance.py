"""Query budgets: each main page costs as few queries at 3 as at 60 of everything.

Rendered as a visitor the page cache does not serve (a signed-in editor, a
query string): "warm" between two changes, with the shared fragments and
routes cached; "cold" just after a change (a publish, or a sale, which moves
the same generation), everything rendered again. Both stay within the issue's
budget of 10 queries, and neither grows with sessions, testimonials, issues or
seats sold.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from icalendar import Calendar
from wagtail.rich_text import RichText
from wagtail_factories import ImageFactory

from home import page_cache
from home.models import SiteSettings
from tests.newsletter.factories import (
    MailingListFactory,
    NewsletterArchivePageFactory,
    NewsletterIssuePageFactory,
)
from tests.testimonials.factories import TestimonialFactory
from tests.workshops.factories import WorkshopSessionFactory, make_paid_ticket
from workshops.ical import sessions_ics
from workshops.selectors import feed_sessions

pytestmark = pytest.mark.django_db

BUDGET = 10


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 60
    page_cache.local_copies.clear()


@pytest.fixture
def site(home_page, schedule, workshop):
    archive = NewsletterArchivePageFactory(parent=home_page, slug="newsletter")
    MailingListFactory(name="Diversity Deep Dives", is_public=True)
    home_page.hero_image = ImageFactory()
    home_page.save_revision().publish()
    return {"home": home_page, "workshop": workshop, "archive": archive}


def linked_paragraphs(count: int, page) -> list[tuple[str, RichText]]:
    link = f'<a linktype="page" id="{page.pk}">the dates</a>'
    return [
        ("paragraph", RichText(f"<p>Paragraph {number}: see {link}.</p>"))
        for number in range(count)
    ]


def grow(site: dict, count: int) -> None:
    """Sessions (with a sale each), testimonials with photos, issues and linked
    paragraphs (on the home page and in an issue) up to `count`."""
    workshop, archive = site["workshop"], site["archive"]
    existing = workshop.sessions.count()
    for number in range(existing, count):
        session = WorkshopSessionFactory(
            workshop=workshop, date=timezone.localdate() + timedelta(days=3 + number)
        )
        make_paid_ticket(session, f"Buyer {number}", f"b{number}@example.com")
    testimonials = [
        TestimonialFactory(photo=ImageFactory()) for _ in range(count - existing)
    ]
    chosen = [
        testimonial
        for block in workshop.body
        if block.block_type == "testimonials"
        for testimonial in block.value["testimonials"]
    ]
    workshop.body = [
        ("testimonials", {"heading": "Said", "testimonials": chosen + testimonials}),
    ]
    workshop.save_revision().publish()
    for _ in range(count - archive.get_children().count()):
        NewsletterIssuePageFactory(parent=archive)
    # Rich text whose links each name a page: one paragraph per thing.
    schedule = workshop.get_parent()
    home = site["home"]
    home.body = [
        ("upcoming_sessions", {"heading": "Next dates", "count": 12}),
        ("testimonials_by_tag", {"heading": "", "tag": "", "count": 12}),
        ("newsletter_signup", {"heading": "Get the newsletter"}),
        *linked_paragraphs(count, schedule),
    ]
    home.save_revision().publish()
    issue = archive.get_children().live().first().specific
    issue.body = linked_paragraphs(count, schedule)
    issue.save_revision().publish()


def queries(
    client: Client, url: str, *, cold: bool, scope: str = page_cache.CONTENT
) -> int:
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    if cold:
        page_cache._advance(scope)
    with connection.execute_wrapper(count):
        response = client.get(url)
    assert response.status_code == 200
    assert "X-Cache" not in response
    return len(executed)


def url_of(site: dict, page: str) -> str:
    if page == "issue":
        return site["archive"].get_children().live().first().url
    if page == "schedule":
        return site["workshop"].get_parent().url
    return site[page].url


@pytest.mark.parametrize("page", ["home", "schedule", "workshop", "archive", "issue"])
def test_a_page_costs_the_same_few_queries_at_3_and_at_60(site, page):
    client = Client()
    client.cookies["editor"] = "1"  # any cookie of its own: rendered for it alone
    figures = {}
    for count in (3, 60):
        grow(site, count)
        url = url_of(site, page)
        # Once-per-process lookups (content types, renditions) out of the way.
        queries(client, url, cold=True)
        cold = queries(client, url, cold=True)
        warm = queries(client, url, cold=False)
        figures[count] = (cold, warm)
    assert figures[60] == figures[3], f"(cold, warm) queries: {figures}"
    assert figures[60][1] <= BUDGET, f"{figures[60][1]} queries between changes"
    assert figures[3][0] <= BUDGET, f"{figures[3][0]} queries after a change at 3"
    assert figures[60][0] <= BUDGET, f"{figures[60][0]} queries after a change"


def test_after_a_sale_a_page_shows_the_new_seats_within_the_budget(site):
    client = Client()
    client.cookies["editor"] = "1"
    grow(site, 3)
    url = url_of(site, "workshop")
    session = site["workshop"].sessions.order_by("starts_at").first()
    queries(client, url, cold=True)
    before = client.get(url).content.decode()
    make_paid_ticket(session, "Late Buyer", "late@example.com")
    # What the sale's commit does: the seats generation moves on.
    after_sale = queries(client, url, cold=True, scope=page_cache.SEATS)
    after = client.get(url).content.decode()
    assert after_sale <= BUDGET
    seats = session.effective_capacity
    assert f"{seats - 1} seats left" in before
    assert f"{seats - 2} seats left" in after


def test_the_feed_after_a_change_is_the_feed_drawn_whole(site):
    grow(site, 3)
    client = Client()
    first = client.get("/calendar/workshops.ics").content
    page_cache._advance()
    # Drawn again from the events kept between changes.
    again = client.get("/calendar/workshops.ics").content
    pairs = [(session, session.workshop.get_full_url()) for session in feed_sessions()]
    whole = sessions_ics(
        pairs, name=f"{SiteSettings.objects.get().organisation_name} dates"
    )
    assert first == again
    assert sorted(
        event.to_ical() for event in Calendar.from_ical(again).walk("VEVENT")
    ) == sorted(event.to_ical() for event in Calendar.from_ical(whole).walk("VEVENT"))
    assert again.count(b"BEGIN:VEVENT") == len(pairs) == 3
