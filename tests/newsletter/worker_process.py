"""A sending worker in a process of its own, for the kill-and-resume test.

    python tests/newsletter/worker_process.py SEND_ID

Runs the same pipeline the `issue_send_work` task runs, against the database
named by DATABASE_URL; the send's frozen backend (Mailgun) talks to the stand-in
whose address ANYMAIL_MAILGUN_API_URL gives.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from django.conf import settings  # noqa: E402

settings.ANYMAIL = {
    "MAILGUN_API_KEY": "key-standin",
    "MAILGUN_API_URL": os.environ["ANYMAIL_MAILGUN_API_URL"],
}
settings.NEWSLETTER_BATCH_SIZE = int(os.environ.get("NEWSLETTER_BATCH_SIZE", "10"))

from newsletter import services  # noqa: E402

result = services.issue_send_work(send_id=int(sys.argv[1]), seconds=120)
sys.stdout.write(result.value)
