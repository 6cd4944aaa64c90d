"""CSV import: consent source required, suppressed and departed people skipped."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from wagtail.models import ModelLogEntry

from newsletter import services, tasks
from newsletter.models import (
    ConsentAction,
    ConsentRecord,
    ImportStatus,
    Subscriber,
    SubscriberImport,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.services import (
    SKIP_ALREADY,
    SKIP_INVALID,
    SKIP_NAME,
    SKIP_REPEATED,
    SKIP_SUPPRESSED,
    SKIP_UNSUBSCRIBED,
    Origin,
    imports,
    subscriber_subscribe,
    subscribers_import,
    subscribers_import_continue,
    subscribers_import_start,
    suppression_add,
)
from tests.newsletter.factories import SubscriberFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/newsletter/subscribers/import/"


def upload(client, lists, csv_text: str, **overrides):
    data = {
        "file": SimpleUploadedFile(
            "people.csv", csv_text.encode(), content_type="text/csv"
        ),
        "mailing_lists": [mailing_list.pk for mailing_list in lists],
        "consent_source": "Sign-up sheet at the March workshop",
        "confirm": "on",
        **overrides,
    }
    return client.post(IMPORT_URL, data)


def ten_thousand_rows() -> str:
    """9,990 people, 5 invalid rows, 5 repeats; person17 is suppressed."""
    suppression_add(
        email="person17@example.com",
        reason=SuppressionReason.ERASED,
        origin=Origin(source="admin"),
    )
    rows = ["Email,Name,Company"]
    rows += [f"Person{n}@Example.com,Person {n},Acme" for n in range(9_990)]
    rows += ["not-an-address,Nobody,"] * 5
    rows += ["person1@example.com,Again,"] * 5
    return "\n".join(rows) + "\n"


def test_ten_thousand_rows_import_in_the_background_and_report_counts(
    client, staff, lists, drain, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, lists, ten_thousand_rows())

    # The request only checks the file; a worker does the rest.
    assert response.status_code == 302
    job = SubscriberImport.objects.get()
    assert response.url == f"{IMPORT_URL}{job.pk}/"
    assert job.status == ImportStatus.QUEUED
    assert job.row_count == 10_000
    assert not Subscriber.objects.exists()
    waiting = client.get(response.url).content.decode()
    assert 'id="import-progress"' in waiting

    drain()

    html = client.get(response.url).content.decode()
    assert "Added: 9989" in html
    assert "Updated: 0" in html
    assert "Skipped: 11" in html
    assert f"5: {SKIP_INVALID}" in html
    assert f"5: {SKIP_REPEATED}" in html
    assert f"1: {SKIP_SUPPRESSED}" in html
    assert Subscriber.objects.count() == 9_989
    assert (
        Subscription.objects.filter(status=SubscriptionStatus.CONFIRMED).count()
        == 2 * 9_989
    )
    record = ConsentRecord.objects.filter(action=ConsentAction.IMPORTED).first()
    assert record.source == "import"
    assert record.source_detail == "Sign-up sheet at the March workshop"
    assert not Subscriber.objects.filter(email="person17@example.com").exists()
    assert ModelLogEntry.objects.filter(action="newsletter.import").count() == 1
    job.refresh_from_db()
    # The file's addresses live on only in the subscriber records.
    assert job.rows == []
    progress = client.get(f"{response.url}progress/").json()
    assert progress["finished"] and progress["percent"] == 100


def test_an_import_commits_a_chunk_at_a_time_and_a_new_run_carries_on(
    staff, lists, settings
):
    settings.NEWSLETTER_IMPORT_CHUNK = 1_000
    rows = [{"email": f"p{n}@example.com", "name": ""} for n in range(3_500)]
    rows += [{"email": "p1@example.com", "name": "Again"}]
    job = subscribers_import_start(
        rows=rows, mailing_lists=lists, consent_source="Workshop sign-up sheet"
    )

    # A worker writes two chunks, then dies: those stay, committed.
    assert not subscribers_import_continue(import_id=job.pk, chunks=2)
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == (ImportStatus.RUNNING, 2_000, 3_500)
    assert Subscriber.objects.count() == 2_000
    assert job.percent == 57

    # The task runs again (a retry, or a second worker): it carries on.
    assert tasks.subscribers_import_run.call(job.pk)
    assert tasks.subscribers_import_run.call(job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.FINISHED
    assert (job.added, job.updated) == (3_500, 0)
    assert job.skipped == {SKIP_REPEATED: 1}
    assert Subscriber.objects.count() == 3_500
    assert ModelLogEntry.objects.filter(action="newsletter.import").count() == 1


def test_importing_the_same_file_twice_adds_nothing(lists):
    rows = [{"email": f"p{n}@example.com", "name": ""} for n in range(50)]
    first = subscribers_import(rows=rows, mailing_lists=lists, consent_source="Fair")
    second = subscribers_import(rows=rows, mailing_lists=lists, consent_source="Fair")
    assert first.added == 50
    assert (second.added, second.updated) == (0, 0)
    assert second.skipped == {SKIP_ALREADY: 50}
    assert Subscription.objects.count() == 100


def test_an_import_respects_people_who_left_and_completes_the_rest(lists):
    left = SubscriberFactory(email="left@example.com")
    SubscriptionFactory(
        subscriber=left,
        mailing_list=lists[0],
        status=SubscriptionStatus.UNSUBSCRIBED,
    )
    pending = SubscriberFactory(email="pending@example.com", name="")
    SubscriptionFactory(
        subscriber=pending, mailing_list=lists[0], status=SubscriptionStatus.PENDING
    )
    result = subscribers_import(
        rows=[
            {"email": "LEFT@example.com", "name": "Left"},
            {"email": "pending@example.com", "name": "Pat"},
            {"email": "long@example.com", "name": "x" * 151},
            {"email": "evil@example.com\nBcc: x@example.com", "name": ""},
        ],
        mailing_lists=lists[:1],
        consent_source="Conference badge scan, opt-in box ticked",
    )
    assert (result.added, result.updated) == (0, 1)
    assert result.skipped == {SKIP_UNSUBSCRIBED: 1, SKIP_NAME: 1, SKIP_INVALID: 1}
    assert left.subscriptions.get().status == SubscriptionStatus.UNSUBSCRIBED
    pending.refresh_from_db()
    assert pending.name == "Pat"
    assert pending.subscriptions.get().status == SubscriptionStatus.CONFIRMED


def test_an_import_never_brings_back_someone_who_unsubscribed_anywhere(lists):
    deep, dates = lists
    # Pressed "Unsubscribe from everything": every subscription unsubscribed.
    gone = SubscriberFactory(email="gone@example.com")
    SubscriptionFactory(
        subscriber=gone, mailing_list=deep, status=SubscriptionStatus.UNSUBSCRIBED
    )
    # Left one list and stayed on another.
    half = SubscriberFactory(email="half@example.com")
    SubscriptionFactory(
        subscriber=half, mailing_list=deep, status=SubscriptionStatus.UNSUBSCRIBED
    )
    SubscriptionFactory(subscriber=half, mailing_list=dates)
    result = subscribers_import(
        rows=[{"email": "gone@example.com"}, {"email": "half@example.com"}],
        mailing_lists=[dates],
        consent_source="Workshop sign-up sheet",
    )
    assert (result.added, result.updated) == (0, 0)
    assert result.skipped == {SKIP_UNSUBSCRIBED: 2}
    assert "unsubscribed from any list" in SKIP_UNSUBSCRIBED
    assert not gone.subscriptions.filter(mailing_list=dates).exists()
    assert not ConsentRecord.objects.filter(action=ConsentAction.IMPORTED).exists()


def test_a_sign_up_that_lands_during_an_import_is_an_existing_subscriber(lists):
    """The sign-up commits between the import's look-up and its insert."""
    parsed = imports.parse(
        rows=[
            {"email": "first@example.com"},
            {"email": "raced@example.com", "name": "Rae"},
            {"email": "last@example.com"},
        ]
    )
    with transaction.atomic():
        plan = imports.resolve(parsed=parsed)
        subscriber_subscribe(
            email="raced@example.com",
            name="",
            mailing_lists=lists,
            consent_text="I agree.",
            origin=Origin(source="footer"),
        )
        result = imports.write(
            plan=plan, mailing_lists=lists, consent_source="Conference badge scan"
        )
    # The look-up did not see her: she signed up after it, before the insert.
    assert "raced@example.com" in plan.new_emails
    assert (result.added, result.updated) == (2, 1)
    person = Subscriber.objects.get(email="raced@example.com")
    assert person.source == "footer"
    assert person.name == "Rae"
    # Her pending requests are confirmed by the import, as for anyone existing,
    # and every IMPORTED record stands for a subscription that really changed.
    assert set(person.subscriptions.values_list("status", flat=True)) == {
        SubscriptionStatus.CONFIRMED
    }
    imported = ConsentRecord.objects.filter(action=ConsentAction.IMPORTED)
    assert imported.filter(subscriber=person).count() == len(lists)
    assert imported.count() == 3 * len(lists)
    assert Subscription.objects.filter(
        status=SubscriptionStatus.CONFIRMED
    ).count() == 3 * len(lists)


def test_an_import_that_lost_its_worker_or_failed_can_be_resumed_or_discarded(
    client, staff, lists, settings, drain, django_capture_on_commit_callbacks
):
    settings.NEWSLETTER_IMPORT_CHUNK = 100
    rows = [{"email": f"p{n}@example.com", "name": ""} for n in range(250)]
    job = subscribers_import_start(
        rows=rows, mailing_lists=lists, consent_source="Fair"
    )
    page = f"{IMPORT_URL}{job.pk}/"
    subscribers_import_continue(import_id=job.pk, chunks=1)

    # A worker still at it is not offered to be resumed.
    assert "Resume the import" not in client.get(page).content.decode()
    assert client.post(f"{page}resume/").status_code == 302
    assert SubscriberImport.objects.get().status == ImportStatus.RUNNING

    # Its worker died: nothing moves for longer than the claim lease.
    settings.NEWSLETTER_CLAIM_LEASE = 0
    assert "Resume the import" in client.get(page).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{page}resume/")
    drain()
    job.refresh_from_db()
    assert (job.status, job.added, job.rows) == (ImportStatus.FINISHED, 250, [])

    # One that stopped on an error keeps its rows until resumed or discarded.
    failed = subscribers_import_start(
        rows=[{"email": "late@example.com", "name": ""}],
        mailing_lists=lists,
        consent_source="Fair",
    )
    services.subscribers_import_fail(import_id=failed.pk, error="OperationalError")
    assert (
        "OperationalError" in client.get(f"{IMPORT_URL}{failed.pk}/").content.decode()
    )
    client.post(f"{IMPORT_URL}{failed.pk}/discard/")
    failed.refresh_from_db()
    assert (failed.status, failed.rows) == (ImportStatus.FAILED, [])
    assert not Subscriber.objects.filter(email="late@example.com").exists()
    assert client.post(f"{IMPORT_URL}{failed.pk}/bogus/").status_code == 404


def test_a_consent_source_is_required(client, staff, lists):
    response = upload(client, lists, "email\nada@example.com\n", consent_source="")
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("email," + "x" * 200_000 + "\nada@example.com,\n", "not valid CSV"),
        ("email\n" + "a@example.com\n" * 11, "more than 10 rows; split it up"),
    ],
    ids=["header-past-the-field-limit", "too-many-rows"],
)
def test_a_file_that_cannot_be_read_gets_a_message_and_stores_nothing(
    client, staff, lists, settings, csv_text, message
):
    settings.NEWSLETTER_IMPORT_MAX_ROWS = 10
    response = upload(client, lists, csv_text)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SubscriberImport.objects.exists()
    assert not Subscriber.objects.exists()


def test_the_form_says_how_large_a_file_may_be(client, staff, lists):
    html = client.get(IMPORT_URL).content.decode()
    assert "At most 5 MB and 100,000 rows" in html


def test_a_file_without_an_email_column_is_refused(client, staff, lists):
    response = upload(client, lists, "address,name\nada@example.com,Ada\n")
    assert "must name an &#x27;email&#x27; column" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_only_staff_who_may_add_subscribers_can_import(
    client, lists, django_user_model
):
    user = django_user_model.objects.create_user("viewer", password="password")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_subscriber"),
    )
    client.force_login(user)
    assert client.get(IMPORT_URL).status_code in (302, 403)
    assert upload(client, lists, "email\nada@example.com\n").status_code in (302, 403)
    assert not Subscriber.objects.exists()
