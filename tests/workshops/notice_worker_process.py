"""A notice sender in a process of its own, for the kill-and-rerun test.

    python tests/workshops/notice_worker_process.py SESSION_ID

Runs what the `session_notices_send` task runs, against the database named by
DATABASE_URL. Its mail goes to `KillingBackend`, which writes each recipient to
NOTICE_MAIL_LOG and, after NOTICE_KILL_AFTER messages, kills this process with
SIGKILL: the email is out, its notice not yet marked sent, the worst moment.
"""

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.mail.backends.base import BaseEmailBackend  # noqa: E402


class KillingBackend(BaseEmailBackend):
    """Delivers by appending to a file; dies after the configured count."""

    def send_messages(self, messages):
        log = Path(os.environ["NOTICE_MAIL_LOG"])
        for message in messages:
            with log.open("a") as handle:
                handle.write(message.to[0] + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            sent = len(log.read_text().splitlines())
            if sent >= int(os.environ["NOTICE_KILL_AFTER"]):
                os.kill(os.getpid(), signal.SIGKILL)
        return len(messages)


settings.EMAIL_BACKEND = "__main__.KillingBackend"

from workshops import services  # noqa: E402

sys.stdout.write(str(services.session_notices_send(session_id=int(sys.argv[1]))))
