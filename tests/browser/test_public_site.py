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


def test_pages_fit_a_phone_screen(new_page, demo_site):
    page = new_page(viewport={"width": 360, "height": 740}, device_scale_factor=2)
    for url in ["/", "/about/", "/group-training/", "/no-such-page/"]:
        page.goto(url)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"{url} scrolls sideways by {overflow}px"
    assert_accessible(page)


def test_a_phone_screen_gets_the_sharper_logo(new_page, demo_site):
    page = new_page(viewport={"width": 360, "height": 740}, device_scale_factor=2)
    page.goto("/")
    logo = page.locator("header .brand__logo")
    expect(logo).to_have_attribute("srcset", re.compile(r" 2x$"))
    # The 96 px rendition, drawn in the 48 px box.
    assert ".height-96." in logo.evaluate("img => img.currentSrc")
    assert logo.bounding_box()["height"] == 48


def test_the_accessibility_check_catches_violations(page, page_problems):
    page.set_content("<html><body><img src='x.png'><a href='#'></a></body></html>")
    try:
        assert_accessible(page)
    except AssertionError as error:
        assert "image-alt" in str(error)
        assert "link-name" in str(error)
    else:
        raise AssertionError("axe-core reported nothing on a broken page")
    page_problems.clear()  # the broken image


def test_the_browser_check_catches_errors_and_failed_requests(
    page, page_problems, live_server
):
    broken = """<!DOCTYPE html><html lang="en"><head><title>Broken</title>
        <link rel="stylesheet" href="/static/css/missing.css"></head>
        <body><script>console.error("boom"); undefinedFunction();</script></body>
        </html>"""
    page.route(
        f"{live_server.url}/broken/",
        lambda route: route.fulfill(body=broken, content_type="text/html"),
    )
    page.goto("/broken/")
    page.wait_for_load_state("load")
    seen = "\n".join(page_problems.seen)
    assert "console error: boom" in seen
    assert "page error: undefinedFunction is not defined" in seen
    assert f"404 for GET {live_server.url}/static/css/missing.css" in seen
    page_problems.clear()


def test_the_browser_check_reports_csp_violations(page, page_problems, demo_site):
    page.goto("/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.append(script);
        }"""
    )
    expect(page.locator("body")).to_be_visible()
    page.evaluate("0")
    assert page.evaluate("window.injected") is None
    assert any(
        "CSP violation: script-src-elem blocked inline" in line
        for line in page_problems.seen
    ), page_problems.seen
    page_problems.clear()
