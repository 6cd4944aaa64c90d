"""Exactly once under real concurrency: PostgreSQL, real threads, a real kill."""

import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from newsletter import sending, services
from newsletter.models import DeliveryState, SendStatus

pytestmark = [
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="SQLite takes one writer at a time; concurrency needs PostgreSQL.",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WORKER = Path(__file__).with_name("worker_process.py")


@pytest.fixture
def mailgun(mailgun, settings):
    settings.NEWSLETTER_BATCH_SIZE = 10
    return mailgun


def test_two_workers_send_nobody_twice(mailgun, issue, make_readers, deep_dives):
    readers = make_readers(*(f"reader{n}@example.com" for n in range(300)))
    mailgun.delay = 0.005  # so the two really interleave
    send = services.issue_send_create(issue=issue, mailing_list=deep_dives)
    services.issue_send_start(send_id=send.pk)
    batches: Counter = Counter()
    lock = threading.Lock()

    def note(point: str) -> None:
        if point == "before_call":
            with lock:
                batches[threading.current_thread().name] += 1

    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        try:
            services.issue_send_work(send_id=send.pk, seconds=60, checkpoint=note)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, name=f"w{n}") for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert set(batches) == {"w0", "w1"}, "both workers claimed batches"
    assert mailgun.stats()["duplicates"] == 0
    assert mailgun.recipients == Counter({reader.email: 1 for reader in readers})
    assert set(send.deliveries.values_list("state", flat=True)) == {DeliveryState.SENT}
    send.refresh_from_db()
    assert send.status == SendStatus.FINISHED


def test_a_killed_worker_and_a_resume_send_everyone_exactly_once(
    mailgun, issue, make_readers, deep_dives, settings
):
    readers = make_readers(*(f"reader{n}@example.com" for n in range(60)))
    send = services.issue_send_create(issue=issue, mailing_list=deep_dives)
    services.issue_send_start(send_id=send.pk)
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:"
        f"{database['PORT'] or 5432}/{database['NAME']}",
        "ANYMAIL_MAILGUN_API_URL": mailgun.url,
        "NEWSLETTER_BATCH_SIZE": "10",
    }
    if database.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace(
            f"{database['USER']}@", f"{database['USER']}:{database['PASSWORD']}@"
        )
    process = subprocess.Popen(
        [sys.executable, str(WORKER), str(send.pk)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # The stand-in accepts the third batch, then kills the worker before it
    # can hear the answer: the worst moment to die.
    mailgun.kill_pid = process.pid
    mailgun.kill_on_request = 3
    process.wait(timeout=120)
    assert process.returncode == -9, process.stderr.read().decode()[-2000:]
    assert mailgun.stats()["accepted"] == 30
    assert Counter(send.deliveries.values_list("state", flat=True)) == Counter(
        {DeliveryState.SENT: 20, DeliveryState.SENDING: 10, DeliveryState.QUEUED: 30}
    )

    # The lease of the dead worker's claim passes; staff press Resume.
    settings.NEWSLETTER_CLAIM_LEASE = 0
    mailgun.kill_on_request = None
    assert services.issue_send_resume(send_id=send.pk)
    assert (
        services.issue_send_work(send_id=send.pk, seconds=60)
        is sending.WorkResult.FINISHED
    )

    assert mailgun.recipients == Counter({reader.email: 1 for reader in readers})
    assert Counter(send.deliveries.values_list("state", flat=True)) == Counter(
        {DeliveryState.SENT: 50, DeliveryState.UNCERTAIN: 10}
    )
