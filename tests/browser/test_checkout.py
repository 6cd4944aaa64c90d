import re

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from workshops.models import Order, OrderStatus


def test_a_visitor_buys_a_ticket_in_demo_mode(page, demo_site, demo_checkout):
    page.goto("/schedule/responding-to-reports/")
    page.get_by_role("link", name=re.compile("^Book a seat")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Book Responding to Code of Conduct Reports"
    )
    assert_accessible(page)

    page.get_by_label("Standard seat: $350.00").check()
    page.get_by_label("Number of tickets").fill("2")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("2 × Standard seat")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Your name").fill("Ada Buyer")
    page.get_by_label("Your email address").fill("ada@example.com")
    for number, (name, email) in enumerate(
        [("Ada Buyer", "ada@example.com"), ("Grace Colleague", "grace@example.com")]
    ):
        attendee = page.get_by_role("group", name=f"Attendee {number + 1} of 2")
        attendee.get_by_label("Name").fill(name)
        attendee.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Demo payment")
    page.get_by_role("button", name="Pay $700.00 (demo)").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("You’re booked")
    expect(page.get_by_text("Grace Colleague")).to_be_visible()
    assert_accessible(page)
    # The demo content's own orders (a past session's attendees) aside.
    order = Order.objects.get(buyer_email="ada@example.com")
    assert order.status == OrderStatus.PAID
    assert order.buyer_time_zone == "UTC"  # from the browser, through Intl


def test_mistakes_are_shown_next_to_the_fields(page, demo_site, demo_checkout):
    # The demo content's own orders (holders of its sessions) aside.
    orders_before = Order.objects.count()
    page.goto("/schedule/responding-to-reports/")
    page.get_by_role("link", name=re.compile("^Book a seat")).first.click()
    page.get_by_label("Standard seat: $350.00").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("alert").first).to_contain_text("Please correct")
    expect(page.get_by_label("Your email address")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert_accessible(page)
    assert Order.objects.count() == orders_before
