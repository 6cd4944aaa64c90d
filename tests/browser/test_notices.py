"""The waiting list in a browser: join it; the person offered a seat takes it."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from workshops import services
from workshops.demo_notices import SOLD_OUT_UID
from workshops.models import (
    TicketStatus,
    WaitlistEntry,
    WaitlistStatus,
    WorkshopSession,
)


@pytest.fixture
def sold_out(demo_site) -> WorkshopSession:
    return WorkshopSession.objects.select_related("workshop").get(
        calendar_uid=SOLD_OUT_UID
    )


def test_a_visitor_asks_to_hear_when_a_seat_frees_up(page, sold_out):
    page.goto(sold_out.workshop.url)
    card = page.locator(".session", has_text="Sold out, with a waiting list")
    expect(card.locator(".badge--full")).to_be_visible()
    card.get_by_role("link", name="Tell me if a seat frees up").click()
    assert_accessible(page)
    page.get_by_label("Your name").fill("Rosa Parks")
    page.get_by_label("Your email address").fill("rosa@example.com")
    page.get_by_role("button", name="Put me on the list").click()
    expect(page.get_by_role("status")).to_contain_text("we email rosa@example.com")
    entry = WaitlistEntry.objects.get(email="rosa@example.com")
    assert entry.status == WaitlistStatus.WAITING


def test_the_person_offered_a_seat_takes_it(page, sold_out, demo_checkout):
    first = sold_out.waitlist.order_by("created_at", "pk").first()
    ticket = sold_out.tickets.filter(status=TicketStatus.VALID).first()
    services.ticket_cancel(ticket_id=ticket.pk, refund=False)
    services.session_waitlist_offer(session_id=sold_out.pk)
    first.refresh_from_db()
    page.goto(f"/waiting-list/place/{first.token}/")
    expect(page.get_by_role("status").first).to_contain_text("A seat is held for you")
    assert_accessible(page)
    page.get_by_role("button", name="Take the seat").click()
    # Demo mode: the stand-in for Stripe Checkout.
    expect(page).to_have_url(
        re.compile(rf"/orders/{re.escape(first.order.token)}/demo-payment/$")
    )
    expect(page.get_by_role("heading", level=1)).to_be_visible()
