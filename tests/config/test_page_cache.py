"""The page cache: who is served from it, what it holds, and what clears it."""

import gzip
import re

import pytest
from django.core.checks import run_checks
from django.db import transaction
from django.http import HttpResponse
from wagtail.models import Page, Site

from home import page_cache
from home.models import SiteSettings
from tests.home.factories import HomePageFactory
from tests.workshops.factories import WorkshopSessionFactory, make_paid_ticket
from workshops.services.seats import lock_session

pytestmark = pytest.mark.django_db

TOKEN_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]*)"')


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 60
    page_cache.local_copies.clear()


def test_an_anonymous_visitor_is_served_the_stored_page(client, home_page):
    first = client.get(home_page.url)
    again = client.get(home_page.url)
    assert (first["X-Cache"], again["X-Cache"]) == ("miss", "hit")
    assert again.content == first.content
    assert home_page.title in again.content.decode()
    # Browsers ask again every time, and are answered 304 while nothing moved.
    assert again["Cache-Control"] == "max-age=0, public"
    assert "Cookie" in again["Vary"]


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"QUERY_STRING": "utm_source=mail"},
        {"HTTP_COOKIE": "sessionid=abc"},
        {"HTTP_COOKIE": "messages=xyz"},
        {"HTTP_AUTHORIZATION": "Basic eDp5"},
    ],
)
def test_personal_requests_are_rendered_for_their_visitor(
    client, home_page, request_kwargs
):
    client.get(home_page.url)
    response = client.get(home_page.url, **request_kwargs)
    assert response.status_code == 200
    assert "X-Cache" not in response


def test_signed_in_editors_never_see_or_fill_the_cache(
    client, home_page, django_user_model
):
    editor = django_user_model.objects.create_superuser("ed", "ed@x.example", "pw")
    client.force_login(editor)
    assert "X-Cache" not in client.get(home_page.url)
    client.logout()
    client.cookies.clear()
    assert client.get(home_page.url)["X-Cache"] == "miss"


def test_publishing_a_change_reaches_the_next_visitor(
    client, home_page, django_capture_on_commit_callbacks
):
    client.get(home_page.url)
    home_page.title = "A brand new title"
    with django_capture_on_commit_callbacks(execute=True):
        home_page.save_revision().publish()
    response = client.get(home_page.url)
    assert response["X-Cache"] == "miss"
    assert "A brand new title" in response.content.decode()


def test_an_unpublished_page_is_gone_for_the_next_visitor(
    client, home_page, workshop, django_capture_on_commit_callbacks
):
    assert client.get(workshop.url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        workshop.unpublish()
    assert client.get(workshop.url).status_code == 404


def test_a_change_that_rolls_back_clears_nothing(client, home_page):
    before = page_cache.generation()
    with transaction.atomic():
        page_cache.page_cache_invalidate()
        transaction.set_rollback(True)
    assert page_cache.generation() == before


def test_taking_seats_invalidates_once_committed(
    client, workshop, django_capture_on_commit_callbacks
):
    session = WorkshopSessionFactory(workshop=workshop, capacity=1)
    assert "1 seat left" in client.get(workshop.url).content.decode()
    assert client.get(workshop.url)["X-Cache"] == "hit"
    before = page_cache.generation()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        lock_session(session.pk)  # what every checkout, code and move does
    assert page_cache.generation() > before
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        lock_session(session.pk)
        make_paid_ticket(session, "Ada", "ada@example.com")
    html = client.get(workshop.url).content.decode()
    # Sold out the moment it is: never a seat that does not exist.
    assert "Sold out" in html
    assert "seat left" not in html


def test_a_sale_made_elsewhere_clears_the_cache_too(
    client, workshop, django_capture_on_commit_callbacks
):
    session = WorkshopSessionFactory(workshop=workshop, capacity=3)
    client.get(workshop.url)
    with django_capture_on_commit_callbacks(execute=True):
        make_paid_ticket(session, "Ada", "ada@example.com")
    assert "2 seats left" in client.get(workshop.url).content.decode()


def test_forms_on_a_stored_page_carry_no_token_and_set_no_cookie(client, home_page):
    from tests.newsletter.factories import MailingListFactory

    MailingListFactory(name="Diversity Deep Dives", is_public=True)
    response = client.get(home_page.url)
    html = response.content.decode()
    assert TOKEN_FIELD.findall(html) == [""]
    assert "csrftoken" not in response.cookies
    assert "js/csrf.js" in html
    # The token comes from its own address, never cached, never compressed.
    token = client.get("/csrf/", HTTP_ACCEPT_ENCODING="gzip")
    assert len(token.json()["token"]) == 64
    assert "no-store" in token["Cache-Control"]
    assert "Content-Encoding" not in token
    assert "csrftoken" in token.cookies


def test_a_token_outside_a_form_field_keeps_the_page_out_of_the_cache(rf):
    from django.middleware.csrf import get_token

    request = rf.get("/")
    request.resolver_match = type("Match", (), {"url_name": "wagtail_serve"})()
    token = get_token(request)
    safe = HttpResponse(
        f'<form><input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
    )
    copy = page_cache.shareable_copy(request, safe, compressible=("text/",))
    assert copy is not None
    assert token.encode() not in copy.body
    leaky = HttpResponse(f'<div data-token="{token}"></div>')
    assert page_cache.shareable_copy(request, leaky, compressible=("text/",)) is None


@pytest.mark.parametrize(
    "header",
    [
        ("Cache-Control", "private"),
        ("Cache-Control", "no-store"),
        ("Content-Security-Policy", "script-src 'self' 'nonce-abc'"),
    ],
)
def test_private_responses_and_nonces_are_never_shared(rf, header):
    request = rf.get("/")
    request.resolver_match = type("Match", (), {"url_name": "wagtail_serve"})()
    response = HttpResponse("<p>yours</p>")
    response[header[0]] = header[1]
    assert page_cache.shareable_copy(request, response, compressible=("text/",)) is None


def test_repeat_visits_get_304s_by_etag_and_by_date(client, home_page):
    first = client.get(home_page.url)
    by_tag = client.get(home_page.url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert by_tag.status_code == 304
    assert by_tag.content == b""
    assert by_tag["ETag"] == first["ETag"]
    by_date = client.get(home_page.url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert by_date.status_code == 304
    changed = client.get(home_page.url, HTTP_IF_NONE_MATCH='"something-else"')
    assert changed.status_code == 200


def test_calendar_apps_polling_the_feed_get_304s(client, workshop):
    WorkshopSessionFactory(workshop=workshop)
    first = client.get("/calendar/workshops.ics")
    assert first["Content-Type"] == "text/calendar; charset=utf-8"
    again = client.get("/calendar/workshops.ics", HTTP_IF_NONE_MATCH=first["ETag"])
    assert (again.status_code, again["X-Cache"]) == (304, "hit")
    assert "max-age=900" in again["Cache-Control"]


def test_stored_pages_are_compressed_once_for_those_who_accept_it(client, home_page):
    plain = client.get(home_page.url)
    packed = client.get(home_page.url, HTTP_ACCEPT_ENCODING="gzip, br")
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    assert packed["ETag"] == f"W/{plain['ETag']}"
    assert "Content-Encoding" not in plain
    assert int(packed["Content-Length"]) == len(packed.content)


def test_head_is_answered_from_the_stored_page_without_a_body(client, home_page):
    client.get(home_page.url)
    response = client.head(home_page.url)
    assert response["X-Cache"] == "hit"
    assert response.content == b""


def test_the_cache_is_off_at_zero(client, home_page, settings):
    settings.PAGE_CACHE_SECONDS = 0
    assert "X-Cache" not in client.get(home_page.url)


def test_a_per_process_cache_in_production_is_warned_about(settings):
    settings.DEBUG = False
    settings.SHARED_CACHE = False
    assert "home.W002" in {message.id for message in run_checks()}
    settings.SHARED_CACHE = True
    assert "home.W002" not in {message.id for message in run_checks()}


def test_fragments_follow_the_generation(rf, home_page):
    from django.template import Context, Template

    template = Template(
        "{% load shared_fragments %}{% shared_fragment 'clock' %}{{ now }}"
        "{% endshared_fragment %}"
    )
    request = rf.get("/")
    first = template.render(Context({"request": request, "now": "one"}))
    assert template.render(Context({"request": rf.get("/"), "now": "two"})) == first
    page_cache._advance()
    assert template.render(Context({"request": rf.get("/"), "now": "two"})) == "two"
    request.is_preview = True
    assert template.render(Context({"request": request, "now": "three"})) == "three"
    assert first == "one"


def test_a_page_made_private_stops_being_served_to_everyone(
    client, workshop, django_capture_on_commit_callbacks
):
    from wagtail.models import PageViewRestriction

    WorkshopSessionFactory(workshop=workshop, audience_label="Members only")
    assert "Members only" in client.get(workshop.url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        PageViewRestriction.objects.create(
            page=workshop, restriction_type="password", password="s3cret"
        )
    html = client.get(workshop.url).content.decode()
    assert "Members only" not in html
    assert 'name="password"' in html


def test_a_routable_page_and_its_feeds_are_routed_from_the_cache(client, home_page):
    from tests.newsletter.factories import (
        NewsletterArchivePageFactory,
        NewsletterIssuePageFactory,
    )

    archive = NewsletterArchivePageFactory(parent=home_page, slug="letters")
    NewsletterIssuePageFactory(parent=archive, title="On listening")
    client.cookies["editor"] = "1"  # rendered each time, routed from the cache
    for _ in range(2):
        page = client.get("/letters/")
        assert "On listening" in page.content.decode()
        feed = client.get("/letters/feed/")
        assert feed["Content-Type"].startswith("application/rss+xml")
        assert "On listening" in feed.content.decode()
        assert client.get("/letters/feed/atom/")["Content-Type"].startswith(
            "application/atom+xml"
        )


def test_a_sale_redraws_what_shows_seats_and_keeps_the_rest(
    rf, workshop, django_capture_on_commit_callbacks
):
    from django.template import Context, Template

    template = Template(
        "{% load shared_fragments %}"
        "{% shared_fragment 'menu' scope='content' %}{{ now }}{% endshared_fragment %}"
        "|{% shared_fragment 'dates' %}{{ now }}{% endshared_fragment %}"
    )

    def render(now: str) -> str:
        return template.render(Context({"request": rf.get("/"), "now": now}))

    session = WorkshopSessionFactory(workshop=workshop)
    assert render("one") == "one|one"
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        lock_session(session.pk)  # a seat taken
    assert render("two") == "one|two"
    with django_capture_on_commit_callbacks(execute=True):
        page_cache.page_cache_invalidate()  # an edit: everything is redrawn
    assert render("three") == "three|three"


def test_a_sale_redraws_the_dates_inside_a_body_and_not_the_body(
    rf, workshop, django_capture_on_commit_callbacks
):
    from django.template import Context, Template

    # The hole draws what it reads when drawn (here the request), as the
    # upcoming dates read the seats; the body around it was drawn once.
    template = Template(
        "{% load shared_fragments %}{% shared_fragment 'body' scope='content' %}"
        "{{ now }}|{% seats_hole 'page_cache/hole.html' %}"
        "{% endshared_fragment %}"
    )

    def render(now: str) -> str:
        request = rf.get("/", {"v": now})
        return template.render(Context({"request": request, "now": now})).strip()

    session = WorkshopSessionFactory(workshop=workshop)
    assert render("one") == "one|one"
    assert render("two") == "one|one"
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        lock_session(session.pk)
    assert render("three") == "one|three"
    with django_capture_on_commit_callbacks(execute=True):
        page_cache.page_cache_invalidate()
    assert render("four") == "four|four"
    # Outside a content fragment (a preview, an email) it is drawn at once.
    plain = Template(
        "{% load shared_fragments %}{% seats_hole 'page_cache/hole.html' %}"
    )
    assert (
        plain.render(Context({"request": rf.get("/", {"v": "five"})})).strip() == "five"
    )


def test_the_home_pages_upcoming_dates_show_a_sale_at_once(
    client, home_page, workshop, django_capture_on_commit_callbacks
):
    session = WorkshopSessionFactory(workshop=workshop, capacity=3)
    home_page.body = [("upcoming_sessions", {"heading": "Next dates", "count": 4})]
    home_page.save_revision().publish()
    client.cookies["visitor"] = "1"  # rendered each time, from the fragments
    assert "3 seats left" in client.get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        lock_session(session.pk)
        make_paid_ticket(session, "Ada", "ada@example.com")
    html = client.get("/").content.decode()
    assert "2 seats left" in html
    assert "Next dates" in html


def test_each_wagtail_site_keeps_its_own_shared_parts(client, home_page, settings):
    settings.ALLOWED_HOSTS = ["testserver", "second.example"]
    second_home = HomePageFactory(parent=Page.get_first_root_node(), slug="second")
    second = Site.objects.create(
        hostname="second.example", port=80, root_page=second_home
    )
    SiteSettings.objects.create(site=second, organisation_name="Second Site Training")
    footer = re.compile(r'<h2 id="footer-about"[^>]*>([^<]*)</h2>')

    first_page = client.get("/").content.decode()
    second_page = client.get("/", HTTP_HOST="second.example").content.decode()
    assert footer.findall(first_page) == ["Harbour Test Training"]
    assert footer.findall(second_page) == ["Second Site Training"]
