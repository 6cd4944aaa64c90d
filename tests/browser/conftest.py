"""Playwright driving Debian's Chromium against pytest-django's live server."""

import io
import json
import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections
from playwright.sync_api import Page, expect, sync_playwright

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


@pytest.fixture
def page(browser, browser_context_options, live_server) -> Page:
    context = browser.new_context(base_url=live_server.url, **browser_context_options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


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
    page.add_script_tag(path=str(AXE))
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
