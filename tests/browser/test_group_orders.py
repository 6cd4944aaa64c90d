"""Group orders in the browser: a colleague redeems a seat code and pays
nothing; a buyer books two dates in one checkout; a group asks for an invoice."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from workshops.models import InvoiceRequest, Order, OrderStatus, PaymentMethod, SeatCode


def start_booking(page) -> None:
    page.goto("/schedule/responding-to-reports/")
    page.get_by_role("link", name=re.compile("^Book a seat")).first.click()
    page.get_by_label("Standard seat: $350.00").check()


def fill_attendee(group, name: str, email: str) -> None:
    group.get_by_label("Name").fill(name)
    group.get_by_label("Email address").fill(email)


def test_a_colleague_redeems_a_code_and_gets_a_ticket_without_paying(
    page, demo_site, demo_checkout
):
    seat_code = SeatCode.objects.get()
    start_booking(page)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Your name").fill("Lin Colleague")
    page.get_by_label("Your email address").fill("lin@example.com")
    fill_attendee(
        page.get_by_role("group", name="Attendee 1 of 1"),
        "Lin Colleague",
        "lin@example.com",
    )
    # Typed as people do: lower case, spaces instead of dashes.
    page.get_by_label("Seat code (optional)").fill(
        seat_code.code.lower().replace("-", " ")
    )
    assert_accessible(page)
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("You’re booked")
    expect(page.get_by_text("paid with seat code")).to_be_visible()
    assert_accessible(page)
    order = Order.objects.get(buyer_email="lin@example.com")
    assert order.status == OrderStatus.PAID
    assert order.payment_method == PaymentMethod.CODE
    assert seat_code.seats_used() == 1

    # The buyer's page names the colleague, not their address.
    page.goto(f"/codes/{seat_code.token}/")
    expect(page.get_by_role("cell", name="Lin Colleague")).to_be_visible()
    expect(page.get_by_text("1 used, 5 left, of 6")).to_be_visible()
    assert "lin@example.com" not in page.content()
    assert_accessible(page)


def test_a_wrong_code_is_refused_next_to_the_field(page, demo_site, demo_checkout):
    start_booking(page)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Your name").fill("Lin Colleague")
    page.get_by_label("Your email address").fill("lin@example.com")
    fill_attendee(
        page.get_by_role("group", name="Attendee 1 of 1"), "Lin", "lin@example.com"
    )
    page.get_by_label("Seat code (optional)").fill("ABCD-EFGH-JKMN-PQRS-TUVW")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_text("We do not know that code.")).to_be_visible()
    expect(page.get_by_label("Seat code (optional)")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert_accessible(page)
    assert not Order.objects.filter(buyer_email="lin@example.com").exists()


def test_a_buyer_books_two_dates_in_one_checkout(page, demo_site, demo_checkout):
    start_booking(page)
    page.get_by_label("Number of tickets").fill("1")
    page.get_by_label(re.compile("^Tickets on ")).first.fill("1")
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("on 2 dates")).to_be_visible()

    page.get_by_label("Your name").fill("Ada Buyer")
    page.get_by_label("Your email address").fill("ada@example.com")
    groups = page.get_by_role("group", name=re.compile("^Attendee 1 of 1, "))
    expect(groups).to_have_count(2)
    fill_attendee(groups.nth(0), "Ada Buyer", "ada@example.com")
    fill_attendee(groups.nth(1), "Grace Colleague", "grace@example.com")
    assert_accessible(page)
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Demo payment")
    page.get_by_role("button", name="Pay $700.00 (demo)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You’re booked")
    expect(page.get_by_text("Date 2")).to_be_visible()
    assert_accessible(page)
    order = Order.objects.get(buyer_email="ada@example.com")
    assert order.status == OrderStatus.PAID
    assert order.lines.count() == 2
    assert order.tickets.values("session").distinct().count() == 2


def test_a_group_asks_for_an_invoice_from_the_faq(page, demo_site):
    page.goto("/")
    page.get_by_text("Can my whole team attend together?").click()
    page.get_by_role("link", name="ask us for an invoice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request an invoice")
    assert_accessible(page)
    page.get_by_label("Organisation").fill("Harbourside Hackers")
    page.get_by_label("Billing contact").fill("Priya Raman")
    page.get_by_label("Billing email").fill("ap@harbourside.example")
    page.get_by_label("Number of seats").fill("7")
    page.get_by_label("SWIFT wire transfer").check()
    page.get_by_role("button", name="Request the invoice").click()
    expect(page.get_by_role("status")).to_contain_text("your request is on its way")
    assert_accessible(page)
    request = InvoiceRequest.objects.get(organisation="Harbourside Hackers")
    assert (request.seats, request.payment_method) == (7, "wire")
