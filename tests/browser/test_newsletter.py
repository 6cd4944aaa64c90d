"""A visitor subscribes, confirms, manages preferences and leaves; all accessible."""

import re
from urllib.parse import urlsplit

from django.core import mail
from playwright.sync_api import expect

from newsletter import links
from newsletter.models import Subscriber, SubscriptionStatus
from tests.browser.conftest import assert_accessible


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_a_visitor_subscribes_confirms_and_changes_their_mind(page, demo_site):
    page.goto("/subscribe/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Subscribe to Diversity Deep Dives"
    )
    main = page.locator("main")
    expect(main.get_by_label("Leave this field empty")).to_be_hidden()
    assert_accessible(page)

    main.get_by_label("Email address").fill("Visitor@Example.com")
    main.get_by_label("Name (optional)").fill("Vi")
    main.get_by_label("Diversity Deep Dives").check()
    main.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    assert_accessible(page)

    [confirmation] = mail.outbox
    confirm_url = re.search(r"http\S+/confirm/\S+", confirmation.body).group(0)
    page.goto(path_of(confirm_url))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Confirm your subscription"
    )
    assert_accessible(page)
    page.get_by_role("button", name="Confirm my subscription").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are subscribed")
    assert_accessible(page)
    subscriber = Subscriber.objects.get(email="visitor@example.com")
    assert subscriber.subscriptions.get().status == SubscriptionStatus.CONFIRMED

    page.get_by_role("link", name="See and change your subscriptions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your email preferences")
    assert_accessible(page)
    page.locator("main").get_by_label("Workshop dates").check()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_role("status")).to_contain_text("Your choices are saved.")
    assert_accessible(page)
    assert (
        subscriber.subscriptions.filter(status=SubscriptionStatus.CONFIRMED).count()
        == 2
    )

    page.goto(path_of(links.unsubscribe_url(subscriber)))
    assert_accessible(page)
    page.locator("main").get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    assert_accessible(page)
    assert not subscriber.subscriptions.filter(
        status=SubscriptionStatus.CONFIRMED
    ).exists()


def test_mistakes_are_explained_next_to_their_fields(page, demo_site):
    page.goto("/subscribe/")
    main = page.locator("main")
    main.get_by_label("Email address").fill("not an address")
    main.get_by_role("button", name="Subscribe").click()
    email = page.locator("main").get_by_label("Email address")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile("Enter an email"))
    lists = page.locator("main fieldset.nl-form__lists")
    expect(lists).to_have_accessible_description(re.compile("Choose at least one"))
    assert_accessible(page)
    # The demo's readers of the sent issue came by import; nobody else is new.
    assert not Subscriber.objects.exclude(source="import").exists()


def test_a_broken_link_page_is_accessible(page, demo_site):
    page.goto("/newsletter/confirm/broken/")
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    assert_accessible(page)


def test_the_footer_form_works_from_any_page(page, demo_site):
    page.goto("/about/")
    footer = page.get_by_role("contentinfo")
    footer.get_by_label("Email address").fill("footer@example.com")
    footer.get_by_label("Workshop dates").check()
    footer.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    assert Subscriber.objects.get(email="footer@example.com").source == "footer"
