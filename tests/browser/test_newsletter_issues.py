"""The archive and issues are accessible; an editor previews the email and tests it."""

from django.core import mail
from playwright.sync_api import expect

from newsletter.models import NewsletterIssuePage
from tests.browser.conftest import assert_accessible, sign_in


def test_the_archive_and_an_issue_are_accessible(page, demo_site):
    page.goto("/newsletter/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Diversity Deep Dives")
    assert_accessible(page)

    page.get_by_role("link", name="The first hour after a report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "The first hour after a report"
    )
    expect(page.get_by_role("heading", name="Listen before you plan")).to_be_visible()
    assert_accessible(page)


def test_an_editor_previews_the_email_and_sends_a_test_to_themselves(
    page, demo_site, django_user_model, run_tasks
):
    sign_in(page, django_user_model, first_name="Robin")
    issue = NewsletterIssuePage.objects.get(
        slug="designing-an-event-people-can-leave-safely"
    )

    # The email preview mode, as the preview panel's "Email" choice shows it.
    # (Opened on its own: the live server shares one SQLite connection between
    # its threads, and the panel's parallel requests would trip over it.)
    page.goto(f"/admin/pages/{issue.pk}/view_draft/?mode=email")
    expect(page.get_by_text("Hello Robin,")).to_be_visible()
    expect(page.get_by_role("link", name="Unsubscribe in one click")).to_be_visible()

    page.goto(f"/admin/pages/{issue.pk}/edit/")
    expect(page.locator("#id_preview_mode option[value=email]")).to_have_text("Email")
    page.get_by_role("textbox", name="Email subject").fill("Leaving well")
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Save draft and send a test to me").click()
    expect(page.get_by_text("on its way to editor@example.com")).to_be_visible()
    run_tasks()

    # The demo's own sent issue went to in-memory mail too; ours is the last.
    (message,) = [m for m in mail.outbox if m.to == ["editor@example.com"]]
    assert message.subject == "[Test] Leaving well"
    html = message.alternatives[0][0]
    assert "Hello Robin," in html and "<style" not in html


def test_a_newsletter_sender_schedules_a_send_with_the_date_picker(
    page, demo_site, django_user_model
):
    sign_in(page, django_user_model)
    issue = NewsletterIssuePage.objects.get(
        slug="designing-an-event-people-can-leave-safely"
    )
    page.goto(f"/admin/newsletter/sends/new/{issue.pk}/")
    page.get_by_label("Diversity Deep Dives").check()
    page.get_by_label("Schedule for later").check()
    page.get_by_label("Send at").click()
    # Wagtail's date picker opens: its script loaded before the widget's call
    # (the page fails the test on any console error, "initDateTimeChooser is
    # not defined" included).
    expect(page.locator(".xdsoft_datetimepicker").first).to_be_visible()
