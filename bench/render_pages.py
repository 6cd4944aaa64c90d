"""In-process render time and queries of the main pages, for bench/serve_pages.py.

Run inside the site (`manage.py shell -c "from bench.render_pages import report;
report()"`) against the benchmark's database, or alone:

    .venv/bin/python bench/render_pages.py

which builds the same database as bench/serve_pages.py (SQLite in a temporary
folder, or DATABASE_URL's throwaway database; the cache in BENCH_CACHE_URL,
emptied first) and prints the figures at about 70 sessions and at 700, without
the HTTP part. Each page is rendered through
Django's test client as a visitor the page cache does not serve (a cookie of
its own), so the figure is a real render: "warm" with the shared fragments
and routes in the cache, as between two changes; "sale" right after seats
were taken, which redraws only what shows seats left; "cold" right after an
edit, every fragment rendered again. Prints one line per page.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
else:
    # Imported inside the site (manage.py shell): Django is set up.
    from django.db import connection
    from django.test import Client

    from home import page_cache
    from newsletter.models import NewsletterArchivePage, NewsletterIssuePage
    from workshops.models import WorkshopSession

from bench.common import manage as run_manage
from bench.common import prepare_database, production_env

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


MOVES = {"warm": None, "sale": "seats", "cold": "content"}


def render(client: Client, path: str, *, after: str) -> tuple[float, int]:
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    if MOVES[after]:
        page_cache._advance(MOVES[after])
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
        line = f"{label:20} {sessions:9d}"
        for after in MOVES:
            render(client, path, after="warm")  # the caches as between changes
            runs = [render(client, path, after=after) for _ in range(ROUNDS)]
            # Medians: an entry that expires mid-run makes one render cold.
            line += (
                f" {statistics.median(ms for ms, _ in runs):9.1f}"
                f" {round(statistics.median(count for _, count in runs)):8d}"
            )
        print(line, flush=True)


HEADER = (
    f"{'page':20} {'sessions':>9} {'warm ms':>9} {'queries':>8} "
    f"{'sale ms':>9} {'queries':>8} {'cold ms':>9} {'queries':>8}"
)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        env = production_env(
            BASE_URL="http://127.0.0.1",
            DATABASE_URL=os.environ.get("DATABASE_URL")
            or f"sqlite:///{tmp}/bench.sqlite3",
            CACHE_URL=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/3"),
            DEFAULT_FROM_EMAIL="bench@example.com",
            MEDIA_ROOT=f"{tmp}/media",
            SECURE_HSTS_SECONDS="0",
        )

        def manage(*command: str) -> None:
            run_manage(env, *command)

        prepare_database(env)
        print(
            f"\nIn-process render (median of {ROUNDS}, ms) and queries, on "
            f"{os.cpu_count()} CPUs, database {env['DATABASE_URL'].split(':')[0]}:\n"
            "warm: fragments and routes cached; sale: just after seats were "
            "taken; cold: just after an edit\n"
        )
        print(HEADER, flush=True)
        report_code = "from bench.render_pages import report; report()"
        manage("shell", "-c", report_code)
        manage(
            "shell",
            "-c",
            "from bench.seed import seed_sessions_to; seed_sessions_to(700)",
        )
        manage("shell", "-c", report_code)


if __name__ == "__main__":
    main()
