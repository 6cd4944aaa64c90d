import re

import pytest

from bench.provider_standin import StandIn
from tests.newsletter.factories import MailingListFactory


@pytest.fixture
def lists(db):
    """Two public lists with double opt-in, as in the demo content."""
    return [
        MailingListFactory(name="Diversity Deep Dives"),
        MailingListFactory(name="Workshop dates"),
    ]


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Runs what waits for the commit when the block ends, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


HIDDEN_INPUT = re.compile(
    r'<input type="hidden" name="(source|consent_version)" value="([^"]*)"'
)


def signup_form_fields(html: str) -> dict[str, str]:
    """The hidden fields of the first sign-up form on a page, as a browser sends."""
    fields: dict[str, str] = {}
    for name, value in HIDDEN_INPUT.findall(html):
        fields.setdefault(name, value)
    return fields


def links_in(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


@pytest.fixture
def archive(home_page):
    from tests.newsletter.factories import NewsletterArchivePageFactory

    return NewsletterArchivePageFactory(parent=home_page, slug="newsletter")


@pytest.fixture
def issue(archive):
    from tests.newsletter.factories import NewsletterIssuePageFactory

    page = NewsletterIssuePageFactory(parent=archive, title="The first hour")
    page.save_revision().publish()
    return page


@pytest.fixture
def deep_dives(db):
    return MailingListFactory(name="Diversity Deep Dives")


@pytest.fixture
def make_readers(deep_dives):
    """Confirmed subscribers of Diversity Deep Dives, with the given addresses."""
    from tests.newsletter.factories import SubscriberFactory, SubscriptionFactory

    def make(*emails: str, mailing_list=None):
        readers = []
        for number, email in enumerate(emails):
            subscriber = SubscriberFactory(email=email, name=f"Reader {number}")
            SubscriptionFactory(
                subscriber=subscriber, mailing_list=mailing_list or deep_dives
            )
            readers.append(subscriber)
        return readers

    return make


@pytest.fixture
def batch_backend(settings):
    """Anymail's test backend (batch mode, Mailgun's merge syntax)."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    return settings


@pytest.fixture
def scripted_backend(settings):
    from tests.newsletter import backends

    backends.BUSY_SEEN.clear()
    backends.CALLS.clear()
    backends.OUTAGE["over"] = False
    settings.EMAIL_BACKEND = "tests.newsletter.backends.ScriptedBackend"
    settings.NEWSLETTER_SEND_MODE = "batch"
    settings.NEWSLETTER_MERGE_FIELD_FORMAT = "%recipient.{}%"
    return settings


@pytest.fixture
def drain(run_tasks, django_capture_on_commit_callbacks):
    """Run queued tasks, and the tasks they queue on commit, until none are left."""

    def run() -> None:
        for _ in range(50):
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                run_tasks()
            if not callbacks:
                return

    return run


@pytest.fixture
def standin():
    """The email provider stand-in (Mailgun's and Postmark's APIs) on 127.0.0.1."""
    server = StandIn().start()
    yield server
    server.stop()


@pytest.fixture
def mailgun(settings, standin):
    """Anymail's real Mailgun backend (batch mode) pointed at the stand-in."""
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.ANYMAIL = {
        "MAILGUN_API_KEY": "key-standin",
        "MAILGUN_API_URL": standin.url,
    }
    settings.DEFAULT_FROM_EMAIL = "Tidewell <news@tidewell.example>"
    settings.NEWSLETTER_BATCH_SIZE = 4
    return standin


@pytest.fixture
def postmark(settings, standin):
    """Anymail's real Postmark backend (single mode, a pool of requests)."""
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": "token-standin",
        "POSTMARK_API_URL": standin.url + "/",
    }
    settings.DEFAULT_FROM_EMAIL = "Tidewell <news@tidewell.example>"
    settings.NEWSLETTER_BATCH_SIZE = 100
    settings.NEWSLETTER_SINGLE_CONCURRENCY = 4
    return standin
