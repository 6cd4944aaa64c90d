import pytest

from bench.provider_standin import StandIn
from tests.newsletter import backends
from tests.newsletter.factories import (
    MailingListFactory,
    NewsletterArchivePageFactory,
    NewsletterIssuePageFactory,
    SubscriberFactory,
    SubscriptionFactory,
)


@pytest.fixture
def lists(db):
    """Two public lists with double opt-in, as in the demo content."""
    return [
        MailingListFactory(name="Diversity Deep Dives"),
        MailingListFactory(name="Workshop dates"),
    ]


@pytest.fixture
def staff(client, django_user_model):
    """A superuser named editor, signed in with the test client."""
    user = django_user_model.objects.create_superuser(
        "editor", "editor@example.com", "password"
    )
    client.force_login(user)
    return user


@pytest.fixture
def subscriber(lists):
    """Ada, confirmed on both lists."""
    person = SubscriberFactory(email="ada@example.com", name="Ada")
    for mailing_list in lists:
        SubscriptionFactory(subscriber=person, mailing_list=mailing_list)
    return person


@pytest.fixture
def archive(home_page):
    return NewsletterArchivePageFactory(parent=home_page, slug="newsletter")


@pytest.fixture
def issue(archive):
    page = NewsletterIssuePageFactory(parent=archive, title="The first hour")
    page.save_revision().publish()
    return page


@pytest.fixture
def deep_dives(db):
    return MailingListFactory(name="Diversity Deep Dives")


@pytest.fixture
def make_readers(deep_dives):
    """Confirmed subscribers of Diversity Deep Dives, with the given addresses."""

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
