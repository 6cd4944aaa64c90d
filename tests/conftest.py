import io
from unittest import mock

import django_rq
import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.management import call_command
from django_tasks_rq import Job
from rq import SimpleWorker
from wagtail.models import Page, Site

from home.models import HomePage, SiteSettings
from tests.home.factories import HomePageFactory
from tests.workshops.factories import ScheduleIndexPageFactory, WorkshopPageFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and cached fragments live in the cache; each test starts empty."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def home_page(db) -> HomePage:
    """A home page at the root of the default site, with its settings filled in."""
    root = Page.get_first_root_node()
    home = HomePageFactory(parent=root)
    site = Site.objects.get(is_default_site=True)
    site.root_page = home
    site.save()
    SiteSettings.objects.update_or_create(
        site=site,
        defaults={
            "organisation_name": "Harbour Test Training",
            "postal_address": "1 Test Street\nTestville",
            "contact_email": "hello@harbour.example",
        },
    )
    return home


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Runs what waits for the commit when the block ends, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def demo_checkout(settings):
    """Demo mode: DEBUG on and no Stripe keys, so checkout completes locally."""
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""


@pytest.fixture
def demo_content(db) -> HomePage:
    """The demo content, exactly as `manage.py load_demo` makes it."""
    call_command("load_demo", stdout=io.StringIO())
    return HomePage.objects.get()


def run_database_worker() -> None:
    # The worker closes connections it thinks are stale, as a long-running process
    # should; inside a test's transaction that would close the test's own
    # connection on PostgreSQL, so the check is switched off here.
    with mock.patch(
        "django_tasks_db.management.commands.db_worker.close_old_connections"
    ):
        call_command(
            "db_worker",
            "--batch",
            "--no-reload",
            "--no-startup-delay",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )


def run_rq_worker() -> None:
    queue = django_rq.get_queue("default", job_class=Job)
    # SimpleWorker runs jobs in this process, so they see the test's database.
    SimpleWorker([queue], connection=queue.connection, job_class=Job).work(burst=True)


WORKERS = {
    "django_tasks_db.DatabaseBackend": run_database_worker,
    "django_tasks_rq.RQBackend": run_rq_worker,
}


@pytest.fixture
def run_tasks(settings):
    """Run every queued task to completion with the configured backend's worker."""

    def run() -> None:
        backend = settings.TASKS["default"]["BACKEND"]
        if backend in WORKERS:
            WORKERS[backend]()

    return run


@pytest.fixture(autouse=True, scope="session")
def _empty_rq_queue(django_db_blocker):
    """Start with an empty Redis queue when the RQ backend is in use."""
    if django_settings.TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend":
        queue = django_rq.get_queue("default")
        queue.empty()
        # Work scheduled for later by an earlier run: its ids may come again.
        for job_id in queue.scheduled_job_registry.get_job_ids():
            queue.scheduled_job_registry.remove(job_id, delete_job=True)


@pytest.fixture
def schedule(home_page):
    """The schedule page under the home page, as editors would set it up."""
    return ScheduleIndexPageFactory(
        parent=home_page, months_without_workshops=[8], draft_years=[]
    )


@pytest.fixture
def workshop(schedule):
    return WorkshopPageFactory(
        parent=schedule, title="Responding to Reports", slug="responding"
    )
