"""Staff: the subscriber list, export, one person's data, erasure, the dashboard."""

import datetime
import io
import json

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from wagtail.models import ModelLogEntry

from newsletter.models import (
    ConsentRecord,
    Subscriber,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    email_digest,
)
from newsletter.selectors import confirmed_growth
from newsletter.services import Origin, subscriber_subscribe, subscribers_import
from tests.newsletter.factories import SubscriberFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/newsletter/subscribers/"


@pytest.fixture
def people(lists):
    deep, dates = lists
    ada = SubscriberFactory(email="ada@example.com", name="Ada", source="footer")
    SubscriptionFactory(subscriber=ada, mailing_list=deep)
    SubscriptionFactory(
        subscriber=ada, mailing_list=dates, status=SubscriptionStatus.PENDING
    )
    bo = SubscriberFactory(email="bo@example.com", name="Bo", source="import")
    SubscriptionFactory(subscriber=bo, mailing_list=dates)
    cy = SubscriberFactory(email="cy@example.com", name="Cy", source="page")
    SubscriptionFactory(
        subscriber=cy, mailing_list=deep, status=SubscriptionStatus.UNSUBSCRIBED
    )
    return {"ada": ada, "bo": bo, "cy": cy}


def emails_listed(response) -> set[str]:
    html = response.content.decode()
    return {
        e for e in ("ada@example.com", "bo@example.com", "cy@example.com") if e in html
    }


def test_the_list_searches_and_filters(client, staff, lists, people):
    deep, dates = lists
    assert emails_listed(client.get(LIST_URL)) == {
        "ada@example.com",
        "bo@example.com",
        "cy@example.com",
    }
    assert emails_listed(client.get(LIST_URL, {"q": "bo@"})) == {"bo@example.com"}
    assert emails_listed(client.get(LIST_URL, {"source": "page"})) == {"cy@example.com"}
    # List and status apply to one subscription: Ada is confirmed on Deep Dives
    # and pending on Workshop dates, so she is no confirmed Workshop dates reader.
    confirmed_dates = client.get(
        LIST_URL, {"mailing_list": dates.pk, "status": SubscriptionStatus.CONFIRMED}
    )
    assert emails_listed(confirmed_dates) == {"bo@example.com"}
    assert emails_listed(
        client.get(LIST_URL, {"status": SubscriptionStatus.UNSUBSCRIBED})
    ) == {"cy@example.com"}


def test_csv_export_follows_the_filters(client, staff, lists, people):
    deep, _ = lists
    response = client.get(LIST_URL, {"mailing_list": deep.pk, "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    text = b"".join(response.streaming_content).decode()
    header, *rows = text.strip().splitlines()
    assert header.startswith("Email,Name,Lists,")
    assert len(rows) == 2
    assert any("Diversity Deep Dives (confirmed)" in row for row in rows)


def test_csv_export_does_not_let_a_name_become_a_formula(client, staff, lists):
    SubscriptionFactory(
        subscriber=SubscriberFactory(name='=HYPERLINK("http://evil.example")'),
        mailing_list=lists[0],
    )
    response = client.get(LIST_URL, {"export": "csv"})
    text = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK" in text


def test_xlsx_export_keeps_a_formula_like_name_as_text(client, staff, lists, people):
    SubscriptionFactory(
        subscriber=SubscriberFactory(name='=HYPERLINK("http://evil.example")'),
        mailing_list=lists[0],
    )
    # The admin's edit form lets a control character into a name.
    Subscriber.objects.filter(email="bo@example.com").update(name="Bo\x0bB")
    assert "Download XLSX" in client.get(LIST_URL).content.decode()
    response = client.get(LIST_URL, {"export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header, *rows = sheet.iter_rows()
    assert [cell.value for cell in header][:3] == ["Email", "Name", "Lists"]
    assert len(rows) == 4
    names = {row[1].value: row[1].data_type for row in rows}
    # A string cell: Excel shows it and never runs it.
    assert names['=HYPERLINK("http://evil.example")'] == "s"
    assert "BoB" in names


def test_one_persons_data_as_json(client, staff, home_page, lists):
    subscriber_subscribe(
        email="dee@example.com",
        name="Dee",
        mailing_lists=lists,
        consent_text="You may email me.",
        origin=Origin(source="footer", ip_address="203.0.113.4", user_agent="UA"),
    )
    subscriber = Subscriber.objects.get()
    response = client.get(f"/admin/newsletter/subscribers/data/{subscriber.pk}/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["email"] == "dee@example.com"
    assert {s["list"] for s in data["subscriptions"]} == {
        "Diversity Deep Dives",
        "Workshop dates",
    }
    first = data["consent_history"][0]
    assert first["ip_address"] == "203.0.113.4"
    assert first["consent_text"] == "You may email me."


def test_the_inspect_page_shows_the_consent_history(client, staff, home_page, lists):
    subscriber_subscribe(
        email="dee@example.com",
        name="Dee",
        mailing_lists=lists[:1],
        consent_text="You may email me.",
        origin=Origin(source="footer", ip_address="203.0.113.4"),
    )
    subscriber = Subscriber.objects.get()
    html = client.get(
        f"/admin/newsletter/subscribers/inspect/{subscriber.pk}/"
    ).content.decode()
    assert "Consent history" in html
    assert "203.0.113.4" in html
    assert "Download data (JSON)" in html


def test_erasing_a_person_keeps_only_the_hash_and_blocks_imports(
    client, staff, lists, people
):
    ada = people["ada"]
    client.post(f"/admin/newsletter/subscribers/edit/{ada.pk}/", {"name": "Ada L."})
    delete_url = f"/admin/newsletter/subscribers/delete/{ada.pk}/"
    assert "Erase everything stored" in client.get(delete_url).content.decode()

    response = client.post(delete_url)
    assert response.status_code == 302
    assert not Subscriber.objects.filter(email="ada@example.com").exists()
    assert not ConsentRecord.objects.filter(subscriber_id=ada.pk).exists()
    suppression = Suppression.objects.get()
    assert suppression.email_hash == email_digest("ada@example.com")
    assert suppression.reason == SuppressionReason.ERASED
    labels = " ".join(ModelLogEntry.objects.values_list("label", flat=True))
    assert "ada@example.com" not in labels
    assert "erased" in labels

    result = subscribers_import(
        rows=[{"email": "ADA@example.com", "name": "Ada"}],
        mailing_lists=lists,
        consent_source="An old list",
        user=staff,
    )
    assert result.added == 0
    assert not Subscriber.objects.filter(email="ada@example.com").exists()
    history = client.get(f"/admin/newsletter/lists/history/{lists[0].pk}/")
    assert "Imported subscribers from CSV" in history.content.decode()


def test_bulk_delete_of_subscribers_is_turned_away(client, staff, people):
    ids = [people["ada"].pk, people["bo"].pk]
    url = "/admin/bulk/newsletter/subscriber/delete/?" + "&".join(
        f"id={pk}" for pk in ids
    )
    response = client.post(url, follow=True)
    assert "erased one at a time" in response.content.decode()
    assert Subscriber.objects.filter(pk__in=ids).count() == 2


def test_any_deletion_suppresses_the_address(people):
    people["bo"].delete()
    assert Suppression.objects.filter(
        email_hash=email_digest("bo@example.com")
    ).exists()


def test_staff_add_people_by_import_only(client, staff):
    response = client.get("/admin/newsletter/subscribers/add/")
    assert response.status_code == 302
    assert response["Location"].endswith("/admin/newsletter/subscribers/import/")
    assert "Import CSV" in client.get(LIST_URL).content.decode()


def test_the_dashboard_shows_confirmed_subscribers_per_list(
    client, staff, lists, people
):
    html = client.get("/admin/").content.decode()
    assert "Confirmed subscribers" in html
    assert "Diversity Deep Dives" in html


def test_mailing_lists_are_snippets_with_counts(client, staff, lists, people):
    html = client.get("/admin/newsletter/lists/").content.decode()
    assert "Diversity Deep Dives" in html
    assert "Confirmed subscribers" in html
    response = client.post(
        "/admin/newsletter/lists/add/",
        {"name": "Alumni", "description": "", "double_opt_in": "on"},
    )
    assert response.status_code == 302


def test_growth_counts_who_was_confirmed_at_each_month_end(lists):
    deep, _ = lists
    now = timezone.now()
    long_ago = now - datetime.timedelta(days=400)
    SubscriptionFactory(mailing_list=deep, confirmed_at=long_ago)
    SubscriptionFactory(
        mailing_list=deep,
        status=SubscriptionStatus.UNSUBSCRIBED,
        confirmed_at=long_ago,
        unsubscribed_at=now - datetime.timedelta(days=70),
    )
    SubscriptionFactory(
        mailing_list=deep, status=SubscriptionStatus.PENDING, confirmed_at=None
    )
    growth = {g.mailing_list.name: g for g in confirmed_growth(months=6)}
    counts = [count for _, count in growth["Diversity Deep Dives"].points]
    assert counts[0] == 2
    assert counts[-1] == 1
    assert growth["Workshop dates"].current == 0
