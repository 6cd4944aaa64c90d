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

    # Fetched as soon as the visitor starts on the form.
    with page.expect_request("**/csrf/"):
        footer.get_by_label("Email address").fill("cached@example.com")
    footer.get_by_label("Diversity Deep Dives").check()
    footer.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    [confirmation] = mail.outbox
    assert confirmation.to == ["cached@example.com"]
    # The cached page itself never took this visitor's token.
    assert page.context.cookies()[0]["name"] == "csrftoken"
    again = new_page().goto("/")
    assert again.headers["x-cache"] == "hit"


def test_any_form_on_a_cached_page_gets_a_token_of_its_own(
    new_page, demo_site, settings
):
    from inquiries.models import ContactMessage

    settings.PAGE_CACHE_SECONDS = 60
    new_page().goto("/contact/")
    page = new_page()
    assert page.goto("/contact/").headers["x-cache"] == "hit"
    main = page.locator("main")
    expect(main.locator('input[name="csrfmiddlewaretoken"]')).to_have_value("")
    with page.expect_request("**/csrf/"):
        main.get_by_label("Your name").fill("Noor Haddad")
    main.get_by_label("Email address").fill("noor@example.com")
    main.get_by_label("Message").fill("Do you run workshops in French?")
    main.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("on its way")
    assert ContactMessage.objects.get().name == "Noor Haddad"
