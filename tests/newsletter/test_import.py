"""CSV import: consent source required, suppressed and departed people skipped."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from wagtail.models import ModelLogEntry

from newsletter.models import (
    ConsentAction,
    ConsentRecord,
    Subscriber,
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
    subscribers_import,
    suppression_add,
)
from tests.newsletter.factories import SubscriberFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/newsletter/subscribers/import/"


@pytest.fixture
def staff(client, django_user_model):
    user = django_user_model.objects.create_superuser(
        "editor", "editor@example.com", "password"
    )
    client.force_login(user)
    return user


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


def test_ten_thousand_rows_import_in_seconds_and_report_counts(client, staff, lists):
    suppression_add(
        email="person17@example.com",
        reason=SuppressionReason.ERASED,
        origin=Origin(source="admin"),
    )
    rows = ["Email,Name,Company"]
    rows += [f"Person{n}@Example.com,Person {n},Acme" for n in range(9_990)]
    rows += ["not-an-address,Nobody,"] * 5
    rows += ["person1@example.com,Again,"] * 5
    csv_text = "\n".join(rows) + "\n"

    started = time.perf_counter()
    response = upload(client, lists, csv_text)
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    html = response.content.decode()
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
    assert ModelLogEntry.objects.filter(action="newsletter.import").exists()
    # Bulk writes, not a query per row: well inside the seconds promised.
    assert elapsed < 20, f"import took {elapsed:.1f}s"


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


def test_a_consent_source_is_required(client, staff, lists):
    response = upload(client, lists, "email\nada@example.com\n", consent_source="")
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Subscriber.objects.exists()


def test_a_file_without_an_email_column_is_refused(client, staff, lists):
    response = upload(client, lists, "address,name\nada@example.com,Ada\n")
    assert "must name an &#x27;email&#x27; column" in response.content.decode()
    assert not Subscriber.objects.exists()


def test_only_staff_who_may_add_subscribers_can_import(
    client, lists, django_user_model
):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("viewer", password="password")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_subscriber"),
    )
    client.force_login(user)
    assert client.get(IMPORT_URL).status_code in (302, 403)
    assert upload(client, lists, "email\nada@example.com\n").status_code in (302, 403)
    assert not Subscriber.objects.exists()
