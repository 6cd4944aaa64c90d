"""Playwright driving Debian's Chromium against pytest-django's live server."""

import io
import json
import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections
from playwright.sync_api import (
    ConsoleMessage,
    Page,
    Request,
    Response,
    expect,
    sync_playwright,
)

from home.models import HomePage

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests
# make between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# The machine's network is closed: keep Chromium from calling home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            # The live server needs committed data; serialized rollback restores
            # what migrations made (Wagtail's root page, collections, groups)
            # after each test flushes the database.
            item.add_marker(
                pytest.mark.django_db(transaction=True, serialized_rollback=True)
            )


@pytest.fixture(scope="session")
def browser(django_db_setup):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; bin/test installs it.")
    # Once Playwright's event loop is set in this thread, Django keeps database
    # connections per async context instead of per thread, so the tests get new
    # connection objects. Carry over the snapshot that serialized rollback
    # restores after each transactional test.
    snapshots = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    with sync_playwright() as playwright:
        for alias, snapshot in snapshots.items():
            connections[alias]._test_serialized_contents = snapshot
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_context_options() -> dict:
    return {"locale": "en-US", "timezone_id": "UTC"}


# Chromium logs a CSP violation as a console error, but the event says which
# directive and what was blocked; init scripts run outside the page's policy.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
    console.error(`CSP violation: ${event.violatedDirective} blocked ${
        event.blockedURI || "inline code"} in ${event.sourceFile || event.documentURI
        }:${event.lineNumber}`);
});
"""


class PageProblems:
    """Console errors, uncaught exceptions and failed requests seen by a page.

    The page a test navigates to may answer 404 or 400 on purpose; every other
    request (styles, scripts, images, fetches, frames) must succeed.
    """

    def __init__(self) -> None:
        self.seen: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.seen.append(f"page error: {error}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def clear(self) -> None:
        """Forget what was seen so far: for a test that makes errors on purpose."""
        self.seen.clear()

    def _console(self, message: ConsoleMessage) -> None:
        # "Failed to load resource" repeats what _response reports, with the
        # address and status, and is also logged for a deliberate 404 page.
        if message.type == "error" and not message.text.startswith(
            "Failed to load resource"
        ):
            where = message.location.get("url", "")
            self.seen.append(f"console error: {message.text} ({where})")

    def _request_failed(self, request: Request) -> None:
        # Aborted: the test moved on before a load finished, or a download.
        if request.failure != "net::ERR_ABORTED":
            self.seen.append(
                f"request failed: {request.method} {request.url}: {request.failure}"
            )

    def _response(self, response: Response) -> None:
        request = response.request
        if response.status < 400:
            return
        # A page may answer 404 (a missing page) or 400 (a form with mistakes)
        # on purpose; a 500 or a 403 never is.
        top_level = (
            request.is_navigation_request() and request.frame.parent_frame is None
        )
        if top_level and response.status in DELIBERATE_PAGE_STATUSES:
            return
        self.seen.append(f"{response.status} for {request.method} {response.url}")


DELIBERATE_PAGE_STATUSES = {400, 404}


@pytest.fixture
def new_page(browser, browser_context_options, live_server):
    """Open a page in a fresh context; any problem it sees fails the test."""
    problems = PageProblems()
    contexts = []

    def open_page(**options) -> Page:
        context = browser.new_context(
            base_url=live_server.url, **{**browser_context_options, **options}
        )
        context.set_default_timeout(15_000)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        context.on("page", problems.watch)
        contexts.append(context)
        return context.new_page()

    open_page.problems = problems
    yield open_page
    for context in contexts:
        for page in context.pages:
            # Let late events (a script's error, a lazy image) arrive.
            page.wait_for_load_state("load")
            page.evaluate("0")
        context.close()
    if problems.seen:
        pytest.fail("The browser saw problems:\n" + "\n".join(problems.seen))


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


@pytest.fixture
def page_problems(new_page) -> PageProblems:
    return new_page.problems


@pytest.fixture
def demo_site(live_server) -> HomePage:
    call_command("load_demo", stdout=io.StringIO())
    return HomePage.objects.get()


def sign_in(page: Page, django_user_model, **extra) -> None:
    """Make the superuser "editor" (with any `extra` fields) and sign in as them."""
    django_user_model.objects.create_superuser(
        "editor", "editor@example.com", "pw", **extra
    )
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def assert_accessible(page: Page) -> None:
    """Run axe-core on the page as it stands; any violation fails the test."""
    # Evaluated rather than added as a <script>: the site's policy refuses
    # inline scripts, as it should.
    page.evaluate(AXE.read_text())
    violations = page.evaluate("async () => (await axe.run(document)).violations")
    summary = [
        {
            "rule": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in violations
    ]
    assert not violations, f"{page.url}\n{json.dumps(summary, indent=2)}"
