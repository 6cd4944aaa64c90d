"""The archive, its feeds, issue pages, and the email made from the same blocks."""

import re

import pytest
from django.core import mail
from django.template.loader import get_template
from django.test import RequestFactory

from newsletter import rendering, services
from newsletter.blocks import IssueStreamBlock
from newsletter.models import NewsletterArchivePage, NewsletterIssuePage
from newsletter.sending import providers
from tests.newsletter.factories import NewsletterIssuePageFactory
from tests.testimonials.factories import TestimonialFactory


def test_every_issue_block_renders_for_email_too():
    # The email renderer takes each block's templates by its type's name.
    for name in IssueStreamBlock().child_blocks:
        get_template(f"newsletter/email/blocks/{name}.html")
        get_template(f"newsletter/email/blocks/{name}.txt")


def test_issues_live_only_under_the_archive(archive, home_page):
    assert NewsletterIssuePage.can_create_at(archive)
    assert not NewsletterIssuePage.can_create_at(home_page)
    assert not NewsletterArchivePage.can_create_at(home_page)  # max_count = 1


def test_the_archive_lists_published_issues_newest_first_in_pages(archive, client):
    for number in range(12):
        page = NewsletterIssuePageFactory(
            parent=archive,
            title=f"Issue number {number}",
            issue_date=f"2026-01-{number + 1:02d}",
        )
        page.save_revision().publish()
    NewsletterIssuePageFactory(parent=archive, title="A draft", live=False)

    first = client.get(archive.url)
    second = client.get(archive.url + "?page=2")

    assert first.status_code == 200
    titles = re.findall(r'issue-list__title"><a href="[^"]+">([^<]+)<', first.text)
    assert titles[:2] == ["Issue number 11", "Issue number 10"]
    assert len(titles) == 10
    assert "Issue number 0" in second.text
    assert "A draft" not in first.text + second.text
    assert 'rel="next"' in first.text


def test_rss_and_atom_feeds(issue, archive, client):
    page = client.get(archive.url).text
    rss_link = f'title="{archive.title} (RSS)" href="{archive.url}feed/"'
    assert rss_link in page
    assert f'href="{archive.url}feed/atom/">Atom</a>' in page
    rss = client.get(archive.url + "feed/")
    atom = client.get(archive.url + "feed/atom/")

    assert rss.status_code == 200 and rss["Content-Type"].startswith(
        "application/rss+xml"
    )
    assert "<title>The first hour</title>" in rss.text
    assert f"http://testserver{issue.url}" in rss.text
    assert atom["Content-Type"].startswith("application/atom+xml")
    assert "<title>The first hour</title>" in atom.text


def test_an_issue_page_shows_its_blocks(issue, client):
    response = client.get(issue.url)

    assert response.status_code == 200
    assert "<h2>Listen first</h2>" in response.text
    assert "Most of what goes wrong goes wrong early." in response.text


def placeholders(style: str = providers.SINGLE_PLACEHOLDER) -> dict[str, str]:
    return {name: style.format(name) for name in rendering.PERSONAL_FIELDS}


def test_the_email_has_inlined_css_full_urls_a_preheader_and_a_text_part(issue):
    rendered = rendering.issue_render(page=issue, placeholders=placeholders())

    assert "<style" not in rendered.html
    assert re.search(r'<h2 style="[^"]*color: ?#4a1f73', rendered.html)
    assert 'href="http://testserver/schedule/"' in rendered.html
    assert 'href="/' not in rendered.html
    assert "What to do in the first hour." in rendered.html  # the preheader
    assert "%%nl.unsubscribe_url%%" in rendered.html
    assert "LISTEN FIRST" in rendered.text
    assert "practise (http://testserver/schedule/)" in rendered.text
    assert "Unsubscribe: %%nl.unsubscribe_url%%" in rendered.text
    assert "Harbour Test Training" in rendered.text  # the postal footer
    assert "1 Test Street" in rendered.html


def test_every_block_renders_for_email(issue, workshop):
    testimonial = TestimonialFactory(quote="It changed how we respond.")
    issue.body = [
        ("heading", {"text": "Heading", "level": "h3"}),
        ("quote", {"quote": "Write it down.", "attribution": "A lead"}),
        (
            "call_to_action",
            {"text": "See dates", "page": workshop, "url": "", "style": "primary"},
        ),
        ("testimonials", {"heading": "Voices", "testimonials": [testimonial]}),
        ("upcoming_sessions", {"heading": "Next dates", "count": 2}),
    ]
    rendered = rendering.issue_render(page=issue, placeholders=placeholders())

    assert "<h3" in rendered.html and "Write it down." in rendered.html
    assert f'href="http://testserver{workshop.url}"' in rendered.html
    assert "It changed how we respond." in rendered.text
    assert "NEXT DATES" in rendered.text


def test_the_email_preview_mode_shows_the_email(issue, admin_user):
    request = RequestFactory().get("/")
    request.user = admin_user

    response = issue.serve_preview(request, "email")

    html = response.content.decode()
    assert "Hello," in html and "%%nl." not in html
    assert "<style" not in html


def test_a_test_send_goes_to_the_editor_as_last_saved(issue, admin_user):
    admin_user.email = "editor@example.com"
    admin_user.save()
    draft = issue.get_latest_revision_as_object()
    draft.title = "A draft title"
    revision = draft.save_revision()

    assert services.issue_send_test(
        page_id=issue.pk, revision_id=revision.pk, user_id=admin_user.pk
    )

    (message,) = mail.outbox
    assert message.to == ["editor@example.com"]
    assert message.subject == "[Test] A draft title"
    # A mail client's unsubscribe button on a test would take the editor off
    # every list (or post to the sign-up page): a test carries no such header.
    assert "List-Unsubscribe" not in message.extra_headers
    assert "List-Unsubscribe-Post" not in message.extra_headers


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ('<p>See <a href="/x/">this</a></p>', "See this (http://testserver/x/)"),
        ("<ul><li>a</li><li>b</li></ul>", "- a\n- b"),
    ],
)
def test_rich_text_as_plain_text(html, text):
    assert rendering.html_to_text(html) == text
