"""Page-serving benchmark: the site under gunicorn, beside a trivial Django view.

    .venv/bin/python bench/serve_pages.py [--seconds 10] [--clients 4] [--workers 2]

Builds a fresh database (SQLite in a temporary folder, or DATABASE_URL's database
when it is set: a throwaway one, as it is emptied first), loads the demo content
plus extra pages, collects static files, then starts gunicorn with the production
settings on 127.0.0.1. Each main page is requested by several client processes for
a fixed time; the same is done against
`bench/ceiling.py`, a one-view Django project served the same way, which is the
most this machine's gunicorn can give. Prints figures; asserts nothing.
"""

import argparse
import http.client
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PYTHON, RESET_POSTGRES, free_port, production_env  # noqa: E402
from bench.common import manage as run_manage  # noqa: E402


def wait_until_up(port: int, path: str = "/", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"Nothing answered on port {port}")


def client(port: int, path: str, expected: int, seconds: float, queue) -> None:
    latencies, errors = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            # gunicorn's sync workers close the connection after each response.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", path, headers={"Host": "127.0.0.1"})
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != expected:
                errors += 1
                continue
        except OSError:
            errors += 1
            continue
        latencies.append(time.perf_counter() - started)
    queue.put((latencies, errors))


def measure(port: int, path: str, expected: int, seconds: float, clients: int) -> dict:
    queue = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(
            target=client, args=(port, path, expected, seconds, queue)
        )
        for _ in range(clients)
    ]
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    latencies = sorted(value for result, _ in results for value in result)
    errors = sum(error for _, error in results)
    if not latencies:
        return {"rps": 0.0, "p50": float("nan"), "p99": float("nan"), "errors": errors}
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": errors,
    }


def gunicorn(app: str, port: int, workers: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        site_port, ceiling_port = free_port(), free_port()
        env = production_env(
            BASE_URL=f"http://127.0.0.1:{site_port}",
            DATABASE_URL=os.environ.get("DATABASE_URL")
            or f"sqlite:///{tmp}/bench.sqlite3",
            DEFAULT_FROM_EMAIL="bench@example.com",
            STATIC_ROOT=f"{tmp}/static",
            MEDIA_ROOT=f"{tmp}/media",
            SERVE_MEDIA="true",
            SECURE_HSTS_SECONDS="0",
        )

        def manage(*command: str) -> None:
            run_manage(env, *command)

        print("Preparing a database with the demo content ...", flush=True)
        if env["DATABASE_URL"].startswith("postgres"):
            manage("shell", "-c", RESET_POSTGRES)
        manage("migrate", "--noinput", "-v0")
        manage("load_demo")
        manage(
            "shell",
            "-c",
            "from bench.seed import seed_pages, seed_schedule; "
            "seed_pages(); seed_schedule()",
        )
        manage("db_worker", "--batch", "--no-reload", "--no-startup-delay")
        manage("collectstatic", "--noinput", "-v0")

        site = gunicorn("config.wsgi", site_port, args.workers, env)
        ceiling = gunicorn("bench.ceiling:application", ceiling_port, args.workers, env)
        try:
            wait_until_up(site_port)
            wait_until_up(ceiling_port)
            targets = [
                ("ceiling: trivial Django view", ceiling_port, "/", 200),
                ("home page", site_port, "/", 200),
                ("content page", site_port, "/about/", 200),
                ("section with 60 children", site_port, "/guides/", 200),
                ("long content page", site_port, "/guides/guide-7/", 200),
                ("schedule (about 70 sessions)", site_port, "/schedule/", 200),
                (
                    "workshop page (+60 sessions, +30 quotes)",
                    site_port,
                    "/schedule/responding-to-reports/",
                    200,
                ),
                ("calendar feed", site_port, "/calendar/workshops.ics", 200),
                ("search", site_port, "/search/?q=report", 200),
                ("sitemap.xml", site_port, "/sitemap.xml", 200),
                ("404 page", site_port, "/no-such-page/", 404),
            ]
            print(
                f"\n{args.workers} gunicorn sync workers, {args.clients} client "
                f"processes, {args.seconds:.0f} s per page, on {os.cpu_count()} CPUs, "
                f"database {env['DATABASE_URL'].split(':')[0]}\n"
            )
            print(f"{'page':40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
            for label, port, path, expected in targets:
                for _ in range(20):  # warm caches and connections
                    connection = http.client.HTTPConnection("127.0.0.1", port)
                    connection.request("GET", path)
                    connection.getresponse().read()
                figures = measure(port, path, expected, args.seconds, args.clients)
                print(
                    f"{label:40} {figures['rps']:8.1f} {figures['p50']:8.1f} "
                    f"{figures['p99']:8.1f} {figures['errors']:7d}",
                    flush=True,
                )
        finally:
            for server in (site, ceiling):
                server.terminate()
                server.wait()


if __name__ == "__main__":
    main()
