"""A visitor asks for group training, finding time zones in the searchable list."""

import re

from django.core import mail
from playwright.sync_api import expect

from inquiries.models import ContactMessage, GroupTrainingRequest
from tests.browser.conftest import assert_accessible


def test_a_visitor_sends_a_group_training_request(page, demo_site):
    page.goto("/group-training/")
    page.get_by_role("link", name="Ask for a private workshop").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Ask for a private workshop"
    )
    main = page.locator("main")
    expect(main.get_by_label("Leave this field empty")).to_be_hidden()
    assert_accessible(page)

    main.get_by_label("Organisation").fill("Heron Quay Community Forum")
    main.get_by_label("Contact name").fill("Sam Ortiz")
    main.get_by_label("Email address").fill("sam@heronquay.example")
    months = main.get_by_role("group", name="Months that suit you")
    first, second = (
        months.get_by_role("checkbox").nth(1),
        months.get_by_role("checkbox").nth(2),
    )
    first.check()
    second.check()

    # The plain select is hidden; the search box filters the zones' checkboxes.
    search = main.get_by_role("searchbox", name="Your team's time zones")
    expect(main.locator("select[name=time_zones]")).to_be_hidden()
    search.fill("argentina/buenos")
    expect(main.get_by_text("1 zone matches.")).to_be_visible()
    main.get_by_label("America/Argentina/Buenos_Aires").check()
    search.fill("new york")
    search.press("Enter")  # filters, never sends the form
    main.get_by_label("America/New_York").check()
    expect(
        main.get_by_text(
            re.compile("Chosen: America/Argentina/Buenos_Aires, America/New_York")
        )
    ).to_be_visible()
    assert_accessible(page)

    main.get_by_label("Approximate group size").fill("25")
    main.get_by_label("Message (optional)").fill("Moderators of a regional forum.")
    main.get_by_role("button", name="Send").click()

    expect(page.get_by_role("status")).to_contain_text("on its way")
    assert_accessible(page)
    stored = GroupTrainingRequest.objects.get(organisation="Heron Quay Community Forum")
    assert stored.time_zones == ["America/Argentina/Buenos_Aires", "America/New_York"]
    assert len(stored.months) == 2
    assert stored.group_size == 25
    assert sorted(message.to[0] for message in mail.outbox) == [
        "hello@tidewell.example",
        "sam@heronquay.example",
    ]


def test_mistakes_are_explained_next_to_their_fields(page, demo_site):
    demo_requests = GroupTrainingRequest.objects.count()
    page.goto("/group-training/request/")
    main = page.locator("main")
    main.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was sent yet")
    organisation = main.get_by_label("Organisation")
    expect(organisation).to_have_attribute("aria-invalid", "true")
    expect(organisation).to_have_accessible_description(
        re.compile("Enter your organisation")
    )
    zones = main.get_by_role("searchbox", name="Your team's time zones")
    expect(zones).to_have_accessible_description(re.compile("Choose at least one"))
    assert_accessible(page)
    assert GroupTrainingRequest.objects.count() == demo_requests


def test_a_visitor_writes_from_the_contact_page_in_the_footer(page, demo_site):
    page.goto("/")
    page.locator("footer").get_by_role("link", name="Contact us").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contact us")
    assert_accessible(page)
    main = page.locator("main")
    main.get_by_label("Your name").fill("Noor Haddad")
    main.get_by_label("Email address").fill("noor@example.com")
    main.get_by_label("Message").fill("Do you run workshops in French?")
    main.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("on its way")
    assert_accessible(page)
    assert ContactMessage.objects.get().name == "Noor Haddad"
