import re

from playwright.sync_api import expect
from wagtail.models import Page

from tests.browser.conftest import assert_accessible


def test_home_page_renders_and_navigation_works(page, demo_site):
    page.goto("/")
    expect(page).to_have_title(re.compile("Tidewell Training"))
    expect(page.get_by_role("heading", level=1)).to_have_text(demo_site.title)

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="About us"
    ).click()
    expect(page).to_have_url(re.compile("/about/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("About us")
    current = page.get_by_role("navigation", name="Main").locator("[aria-current]")
    expect(current).to_have_text("About us")

    page.get_by_role("contentinfo").get_by_role("link", name="Privacy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy")


def test_skip_link_moves_focus_to_the_main_content(page, demo_site):
    page.goto("/about/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_no_accessibility_violations_on_any_public_page(page, demo_site):
    urls = [p.url for p in Page.objects.live().public().specific().filter(depth__gt=1)]
    assert len(urls) >= 5
    for url in [*urls, "/no-such-page/"]:
        page.goto(url)
        assert_accessible(page)


def test_pages_fit_a_phone_screen(browser, live_server, demo_site):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 740}
    )
    page = context.new_page()
    for url in ["/", "/about/", "/group-training/"]:
        page.goto(url)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"{url} scrolls sideways by {overflow}px"
    assert_accessible(page)
    context.close()


def test_the_accessibility_check_catches_violations(page):
    page.set_content("<html><body><img src='x.png'><a href='#'></a></body></html>")
    try:
        assert_accessible(page)
    except AssertionError as error:
        assert "image-alt" in str(error)
        assert "link-name" in str(error)
    else:
        raise AssertionError("axe-core reported nothing on a broken page")
