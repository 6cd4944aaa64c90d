"""A form on a page served from the shared cache still sends, with its own token."""

from django.core import mail
from playwright.sync_api import expect


def test_a_visitor_subscribes_from_a_cached_page(new_page, demo_site, settings):
    settings.PAGE_CACHE_SECONDS = 60
    # Someone else's visit stores the page; ours is served from the cache.
    assert new_page().goto("/").headers["x-cache"] == "miss"
    page = new_page()
    response = page.goto("/")
    assert response.headers["x-cache"] == "hit"
    assert "set-cookie" not in response.headers
    footer = page.locator("footer")
    token = footer.locator('input[name="csrfmiddlewaretoken"]')
    expect(token).to_have_value("")

    footer.get_by_label("Email address").fill("cached@example.com")
    footer.get_by_label("Diversity Deep Dives").check()
    with page.expect_request("**/csrf/"):
        footer.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    [confirmation] = mail.outbox
    assert confirmation.to == ["cached@example.com"]
    # The cached page itself never took this visitor's token.
    assert page.context.cookies()[0]["name"] == "csrftoken"
    again = new_page().goto("/")
    assert again.headers["x-cache"] == "hit"
