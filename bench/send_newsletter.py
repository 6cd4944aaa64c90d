"""Newsletter sending benchmark: one issue to a large list, through anymail.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_sending \\
        .venv/bin/python bench/send_newsletter.py [--sizes 20000,100000] \\
        [--paths batch,single] [--workers 2]

DATABASE_URL must name a throwaway PostgreSQL database: it is emptied first.
Loads the demo content, adds confirmed subscribers up to each size, and for
each path sends a fresh copy of a demo issue to all of them:

- batch: anymail's Mailgun backend (1,000 recipients a call, merge_data);
- single: anymail's Postmark backend (one message each, a pool of requests
  over one keep-alive session),

with ANYMAIL_MAILGUN_API_URL / ANYMAIL_POSTMARK_API_URL pointed at
`bench/provider_standin.py` on 127.0.0.1, which counts every recipient. Two
`db_worker` processes (the database task backend's real worker) do the work.
Prints messages per second from the moment the send is confirmed to the last
recorded outcome, and each worker's peak resident memory (VmHWM); checks that
the stand-in saw every subscriber exactly once. Asserts nothing else.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PYTHON, RESET_POSTGRES, free_port, production_env  # noqa: E402
from bench.common import manage as run_manage  # noqa: E402

PATHS = {
    "batch": ("anymail.backends.mailgun.EmailBackend", "Mailgun"),
    "single": ("anymail.backends.postmark.EmailBackend", "Postmark"),
}


def base_env(database_url: str, standin_port: int) -> dict:
    return production_env(
        BASE_URL="https://tidewell.example",
        DATABASE_URL=database_url,
        DATABASE_CONN_MAX_AGE="600",
        DEFAULT_FROM_EMAIL="Tidewell Training <news@tidewell.example>",
        TASKS_BACKEND="database",
        ANYMAIL_MAILGUN_API_KEY="key-bench",
        ANYMAIL_MAILGUN_API_URL=f"http://127.0.0.1:{standin_port}/v3",
        ANYMAIL_POSTMARK_SERVER_TOKEN="bench-token",
        ANYMAIL_POSTMARK_API_URL=f"http://127.0.0.1:{standin_port}/",
    )


def standin_call(port: int, method: str, path: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def seed(total: int) -> None:
    """Confirmed subscribers of Diversity Deep Dives, up to `total` of them."""
    from django.utils import timezone

    from newsletter.models import (
        MailingList,
        Subscriber,
        Subscription,
        SubscriptionStatus,
        email_digest,
    )

    mailing_list = MailingList.objects.get(name="Diversity Deep Dives")
    have = Subscriber.objects.filter(source="bench").count()
    now = timezone.now()
    chunk = 10_000
    for start in range(have, total, chunk):
        emails = [
            f"reader{n:06d}@bench.example"
            for n in range(start, min(total, start + chunk))
        ]
        Subscriber.objects.bulk_create(
            Subscriber(
                email=email,
                email_hash=email_digest(email),
                name=f"Reader {email[6:12]}",
                source="bench",
            )
            for email in emails
        )
        ids = Subscriber.objects.filter(email__in=emails).values_list("pk", flat=True)
        Subscription.objects.bulk_create(
            Subscription(
                subscriber_id=pk,
                mailing_list=mailing_list,
                status=SubscriptionStatus.CONFIRMED,
                confirmed_at=now,
            )
            for pk in ids
        )


def fresh_issue(label: str):
    """A published copy of a demo issue, so every run sends a never-sent issue."""
    from newsletter.models import NewsletterIssuePage

    template = NewsletterIssuePage.objects.get(slug="the-first-hour-after-a-report")
    copy = template.copy(
        update_attrs={"title": f"{template.title} ({label})", "slug": f"bench-{label}"},
        keep_live=True,
        log_action=None,
    )
    return NewsletterIssuePage.objects.get(pk=copy.pk)


def run_once(args, env: dict, path: str, size: int, port: int) -> dict:
    from django.db import transaction

    from newsletter import services
    from newsletter.models import IssueSend, MailingList, SendStatus
    from newsletter.selectors import send_figures

    backend, provider = PATHS[path]
    worker_env = {**env, "EMAIL_BACKEND": backend}
    issue = fresh_issue(f"{path}-{size}-{int(time.time())}")
    mailing_list = MailingList.objects.get(name="Diversity Deep Dives")
    standin_call(port, "POST", "/reset")
    workers = [
        subprocess.Popen(
            [
                PYTHON,
                "manage.py",
                "db_worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.05",
            ],
            cwd=ROOT,
            env=worker_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(args.workers)
    ]
    time.sleep(3)  # let Django start in the workers
    try:
        started = time.monotonic()
        with transaction.atomic():
            send = services.issue_send_create(issue=issue, mailing_list=mailing_list)
        # The send was frozen with the workers' EMAIL_BACKEND, not ours.
        deadline = started + args.timeout
        while time.monotonic() < deadline:
            send.refresh_from_db()
            if send.status in (SendStatus.FINISHED, SendStatus.PAUSED):
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        peaks = [peak_memory_mb(worker.pid) for worker in workers]
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
    figures = send_figures(send_id=send.pk)
    send = IssueSend.objects.get(pk=send.pk)
    stats = standin_call(port, "GET", "/stats")
    pipeline = (
        (send.finished_at - send.started_at).total_seconds()
        if send.finished_at and send.started_at
        else float("nan")
    )
    return {
        "path": path,
        "provider": provider,
        "size": size,
        "status": send.status,
        "mode": send.mode,
        "sent": figures["sent"],
        "elapsed": elapsed,
        "rate": figures["sent"] / elapsed,
        "pipeline_rate": figures["sent"] / pipeline if pipeline else float("nan"),
        "peaks": peaks,
        "requests": stats["requests"],
        "accepted": stats["accepted"],
        "duplicates": stats["duplicates"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--paths", default="batch,single")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        raise SystemExit(
            "Set DATABASE_URL to a throwaway PostgreSQL database, e.g. "
            "postgres://postgres@127.0.0.1:5432/bench_sending"
        )
    port = free_port()
    env = base_env(database_url, port)
    os.environ.update(env)
    standin = subprocess.Popen(
        [PYTHON, str(ROOT / "bench" / "provider_standin.py"), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:

        def manage(*command: str) -> None:
            run_manage(env, *command)

        print("Preparing the database with the demo content ...", flush=True)
        manage("shell", "-c", RESET_POSTGRES)
        manage("migrate", "--noinput", "-v0")
        manage("load_demo", "-v0")
        import django

        django.setup()
        for _ in range(50):
            try:
                standin_call(port, "GET", "/stats")
                break
            except OSError:
                time.sleep(0.1)
        results = []
        for size in [int(value) for value in args.sizes.split(",")]:
            print(f"Seeding {size:,} confirmed subscribers ...", flush=True)
            seed(size)
            for path in args.paths.split(","):
                print(f"Sending to {size:,} through the {path} path ...", flush=True)
                results.append(run_once(args, env, path, size, port))
                result = results[-1]
                print(
                    f"  {result['sent']:,} sent in {result['elapsed']:.1f} s: "
                    f"{result['rate']:,.0f} messages/s",
                    flush=True,
                )
        print(
            f"\n{args.workers} db_worker processes, stand-in provider on 127.0.0.1, "
            f"{os.cpu_count()} CPUs, PostgreSQL\n"
        )
        print(
            f"{'path':8} {'provider':9} {'recipients':>10} {'status':>9} "
            f"{'msgs/s':>8} {'in pipeline':>11} {'calls':>7} {'accepted':>9} "
            f"{'twice':>6} {'peak MB per worker':>20}"
        )
        for r in results:
            peaks = " / ".join(f"{peak:.0f}" for peak in r["peaks"])
            print(
                f"{r['path']:8} {r['provider']:9} {r['size']:>10,} {r['status']:>9} "
                f"{r['rate']:>8,.0f} {r['pipeline_rate']:>11,.0f} "
                f"{r['requests']:>7,} {r['accepted']:>9,} {r['duplicates']:>6} "
                f"{peaks:>20}"
            )
        print(
            "\nmsgs/s: from confirming the send (freezing the issue and fixing "
            "the recipients included) to the last outcome recorded; in pipeline: "
            "from the send's start to its finish. twice: recipients the "
            "stand-in accepted more than once."
        )
    finally:
        standin.terminate()
        standin.wait()


if __name__ == "__main__":
    main()
