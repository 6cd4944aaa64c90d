"""Page-serving benchmark: the site under gunicorn, beside a trivial Django view.

    .venv/bin/python bench/serve_pages.py [--seconds 5] [--clients 4] [--workers 2]

Builds a fresh database (SQLite in a temporary folder, or DATABASE_URL's database
when it is set: a throwaway one, as it is emptied first), loads the demo content
plus extra pages (about 70 sessions), collects static files, then starts gunicorn
with the production settings on 127.0.0.1, its cache in Redis (BENCH_CACHE_URL,
by default redis://127.0.0.1:6379/3, which is emptied first). Each main page is
requested for a fixed time by wrk (Debian's `wrk`; a Python client where it is
missing): "cached" as an anonymous visitor whom the page cache serves, and
"uncached" with a cookie of its own, so every request renders the page (with
the shared fragments and routes cached, as a signed-in editor sees it). The same
is done against `bench/ceiling.py`, a one-view Django project served the same
way before each page and once at the end, and each page's figures are given
as a share of the mean of the two measurements around it (the machine's speed
drifts when it is shared). Then bench/render_pages.py
prints the in-process render time and queries of each page with about 70
sessions and again with 700. Prints figures; asserts nothing.
"""

import argparse
import http.client
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    PYTHON,
    free_port,
    prepare_database,
    production_env,
)
from bench.common import manage as run_manage  # noqa: E402

WRK = shutil.which("wrk")
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


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


def client(
    port: int, path: str, expected: int, seconds: float, headers: dict, queue
) -> None:
    latencies, errors = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            # gunicorn's sync workers close the connection after each response.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", path, headers={"Host": "127.0.0.1", **headers})
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


def measure_wrk(port: int, path: str, seconds: float, clients: int, headers) -> dict:
    command = [WRK, "-t2", f"-c{clients}", f"-d{seconds:.0f}s", "--latency"]
    for name, value in {"Host": "127.0.0.1", **headers}.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(percent: str) -> float:
        value, unit = re.search(
            rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)$", output, re.M
        ).groups()
        return float(value) * UNITS[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        "p50": latency("50"),
        "p99": latency("99"),
        "errors": (int(errors[1]) if errors else 0)
        + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
    }


def measure(
    port: int, path: str, expected: int, seconds: float, clients: int, headers=None
) -> dict:
    headers = headers or {}
    if WRK and expected == 200:
        return measure_wrk(port, path, seconds, clients, headers)
    queue = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(
            target=client, args=(port, path, expected, seconds, headers, queue)
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


PAGES = [
    ("home", "/"),
    ("schedule", "/schedule/"),
    ("workshop", "/schedule/responding-to-reports/"),
    ("newsletter archive", "/newsletter/"),
    ("issue", "/newsletter/the-first-hour-after-a-report/"),
    ("calendar feed", "/calendar/workshops.ics"),
]
RENDER_REPORT = "from bench.render_pages import report; report()"


def print_results(results: list[tuple[str, str, dict]]) -> None:
    """One line per row: the trivial view's own, then each page's as a share of
    the mean of the trivial view measured just before and just after it."""
    trivial = [index for index, (_, served, _) in enumerate(results) if served == ""]
    header = f"{'page':20} {'served':9} {'req/s':>8} {'÷ trivial':>9}"
    print(f"\n{header} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for index, (label, served, figures) in enumerate(results):
        if served == "":
            share = ""
        else:
            before = max(i for i in trivial if i < index)
            after = min(i for i in trivial if i > index)
            baseline = statistics.mean(results[i][2]["rps"] for i in (before, after))
            share = f"{figures['rps'] / baseline:.1%}"
        print(
            f"{label:20} {served:9} {figures['rps']:8.1f} {share:>9} "
            f"{figures['p50']:8.1f} {figures['p99']:8.1f} {figures['errors']:7d}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        site_port, ceiling_port = free_port(), free_port()
        env = production_env(
            BASE_URL=f"http://127.0.0.1:{site_port}",
            DATABASE_URL=os.environ.get("DATABASE_URL")
            or f"sqlite:///{tmp}/bench.sqlite3",
            CACHE_URL=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/3"),
            DEFAULT_FROM_EMAIL="bench@example.com",
            STATIC_ROOT=f"{tmp}/static",
            MEDIA_ROOT=f"{tmp}/media",
            SERVE_MEDIA="true",
            SECURE_HSTS_SECONDS="0",
        )

        def manage(*command: str) -> None:
            run_manage(env, *command)

        prepare_database(env)
        manage("collectstatic", "--noinput", "-v0")

        site = gunicorn("config.wsgi", site_port, args.workers, env)
        ceiling = gunicorn("bench.ceiling:application", ceiling_port, args.workers, env)
        try:
            wait_until_up(site_port)
            wait_until_up(ceiling_port)
            print(
                f"\n{args.workers} gunicorn sync workers, {args.clients} connections "
                f"({'wrk' if WRK else 'Python clients'}), {args.seconds:.0f} s per "
                f"row, on {os.cpu_count()} CPUs, database "
                f"{env['DATABASE_URL'].split(':')[0]}, cache {env['CACHE_URL']}\n"
            )
            # The machine is shared and its speed drifts: the trivial view is
            # measured before each page and once at the end, and each page is
            # compared with the mean of the two measurements around it.
            trivial = ("trivial Django view", "", ceiling_port, "/", {})
            rows = []
            for label, path in PAGES:
                rows.append(trivial)
                rows.append((label, "uncached", site_port, path, {"Cookie": "b=1"}))
                rows.append((label, "cached", site_port, path, {}))
                # As browsers ask: the stored gzip copy, a fifth of the bytes.
                gzip = {"Accept-Encoding": "gzip"}
                rows.append((label, "cached gz", site_port, path, gzip))
            rows.append(trivial)
            results = []
            for label, served, port, path, headers in rows:
                for _ in range(20):  # warm caches and connections
                    connection = http.client.HTTPConnection("127.0.0.1", port)
                    connection.request("GET", path, headers=headers)
                    connection.getresponse().read()
                figures = measure(port, path, 200, args.seconds, args.clients, headers)
                results.append((label, served, figures))
                print(f"  measured {label} {served}", flush=True)
            print_results(results)
        finally:
            for server in (site, ceiling):
                server.terminate()
                server.wait()

        print(
            "\nIn-process render (median of 30, ms) and queries, as a visitor the "
            "page cache does not serve:\n"
            "warm: fragments and routes cached; sale: just after seats were "
            "taken; cold: just after an edit\n"
        )
        print(
            f"{'page':20} {'sessions':>9} {'warm ms':>9} {'queries':>8} "
            f"{'sale ms':>9} {'queries':>8} {'cold ms':>9} {'queries':>8}"
        )
        manage("shell", "-c", RENDER_REPORT)
        manage(
            "shell",
            "-c",
            "from bench.seed import seed_sessions_to; seed_sessions_to(700)",
        )
        manage("shell", "-c", RENDER_REPORT)


if __name__ == "__main__":
    main()
