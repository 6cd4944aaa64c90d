"""In-process render time and queries of the main pages, for bench/serve_pages.py.

Run inside the site (`manage.py shell -c "from bench.render_pages import report;
report()"`) against the benchmark's database. Each page is rendered through
Django's test client as a visitor the page cache does not serve (a cookie of
its own), so the figure is a real render: "warm" with the shared fragments
and routes in the cache, as between two changes; "cold" right after a change,
every fragment rendered again. Prints one line per page.
"""

import statistics
import time

from django.db import connection
from django.test import Client

from home import page_cache
from newsletter.models import NewsletterArchivePage, NewsletterIssuePage
from workshops.models import WorkshopSession

ROUNDS = 30


def pages() -> list[tuple[str, str]]:
    archive = NewsletterArchivePage.objects.live().first()
    issue = NewsletterIssuePage.objects.live().order_by("-issue_date").first()
    return [
        ("home", "/"),
        ("schedule", "/schedule/"),
        ("workshop", "/schedule/responding-to-reports/"),
        ("newsletter archive", archive.url),
        ("issue", issue.url),
        ("calendar feed", "/calendar/workshops.ics"),
    ]


def render(client: Client, path: str, *, cold: bool) -> tuple[float, int]:
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    if cold:
        page_cache._advance()
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        response = client.get(path, HTTP_HOST="127.0.0.1")
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, (path, response.status_code)
    assert "X-Cache" not in response, "the page cache answered"
    return elapsed * 1000, len(queries)


def report() -> None:
    client = Client()
    client.cookies["bench"] = "not-cached"
    sessions = WorkshopSession.objects.count()
    for label, path in pages():
        figures = {}
        for cold in (False, True):
            render(client, path, cold=cold)  # warm the caches (or move on)
            runs = [render(client, path, cold=cold) for _ in range(ROUNDS)]
            # Medians: an entry that expires mid-run makes one render cold.
            figures[cold] = (
                statistics.median(ms for ms, _ in runs),
                round(statistics.median(count for _, count in runs)),
            )
        print(
            f"{label:20} {sessions:9d} {figures[False][0]:9.1f} "
            f"{figures[False][1]:8d} {figures[True][0]:9.1f} {figures[True][1]:8d}",
            flush=True,
        )
