"""Staff see requests, change their status and notes, export them, see demand."""

from datetime import date

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from wagtail.models import ModelLogEntry

from inquiries.models import (
    ContactMessage,
    GroupTrainingRequest,
    RequestStatus,
    StatusChangeError,
)
from inquiries.panels import RequestDemandPanel
from inquiries.selectors import open_request_demand
from inquiries.services import group_training_request_change_status

ADDRESS = "private-requester@leak.example"


def make_request(**fields) -> GroupTrainingRequest:
    values = {
        "organisation": "Kestrel Commons",
        "name": "Ada Kestrel",
        "email": ADDRESS,
        "months": ["2026-06"],
        "time_zones": ["Europe/Oslo"],
        "group_size": 8,
        **fields,
    }
    return GroupTrainingRequest.objects.create(**values)


def staff(django_user_model, group_name: str | None):
    user = django_user_model.objects.create_user(
        f"staff-{group_name or 'none'}", "staff@tidewell.example", "password"
    )
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    if group_name:
        user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def sales(django_user_model, db):
    return staff(django_user_model, "Sales")


def test_the_sales_group_sees_requests_and_the_chart(client, sales, home_page):
    inquiry = make_request()
    client.force_login(sales)
    index = client.get(reverse("inquiries_requests:index"))
    assert index.status_code == 200
    body = index.content.decode()
    assert "Kestrel Commons" in body
    assert "Group training wanted" in body  # the chart above the list
    inspect = client.get(reverse("inquiries_requests:inspect", args=[inquiry.pk]))
    assert ADDRESS in inspect.content.decode()
    assert "Mark as contacted" in inspect.content.decode()
    dashboard = client.get(reverse("wagtailadmin_home"))
    assert "Group training wanted" in dashboard.content.decode()


@pytest.mark.parametrize("group_name", ["Editors", "Moderators", None])
def test_other_staff_see_no_request(client, django_user_model, home_page, group_name):
    inquiry = make_request()
    message = ContactMessage.objects.create(name="Ada", email=ADDRESS, message="Hi")
    client.force_login(staff(django_user_model, group_name))
    urls = [
        reverse("inquiries_requests:index"),
        reverse("inquiries_requests:index") + "?export=csv",
        reverse("inquiries_requests:inspect", args=[inquiry.pk]),
        reverse("inquiries_requests:edit", args=[inquiry.pk]),
        reverse("inquiries_requests:history", args=[inquiry.pk]),
        reverse("inquiries_requests:delete", args=[inquiry.pk]),
        reverse("inquiries_request_status", args=[inquiry.pk, "contacted"]),
        reverse("inquiries_messages:index"),
        reverse("inquiries_messages:inspect", args=[message.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert ADDRESS not in response.content.decode(), url
        assert response.status_code in (302, 403), url
    response = client.post(
        reverse("inquiries_request_status", args=[inquiry.pk, "close"])
    )
    inquiry.refresh_from_db()
    assert inquiry.status == RequestStatus.NEW
    dashboard = client.get(reverse("wagtailadmin_home"))
    assert "Group training wanted" not in dashboard.content.decode()


def test_nobody_adds_a_request_by_hand(client, sales, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", "b@x.example", "pw")
    for user in (sales, boss):
        client.force_login(user)
        assert client.get(reverse("inquiries_requests:add")).status_code in (302, 403)


def test_status_changes_are_named_steps_and_logged(client, sales, home_page):
    inquiry = make_request()
    client.force_login(sales)
    url = reverse("inquiries_request_status", args=[inquiry.pk, "contacted"])
    assert "Mark as contacted" in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.status == RequestStatus.CONTACTED
    entry = ModelLogEntry.objects.filter(action="inquiries.request.contacted").get()
    assert entry.user == sales

    # Contacted cannot become contacted again; it can be scheduled, then closed.
    with pytest.raises(StatusChangeError):
        group_training_request_change_status(
            request_id=inquiry.pk, action="contacted", user=sales
        )
    client.post(reverse("inquiries_request_status", args=[inquiry.pk, "scheduled"]))
    client.post(reverse("inquiries_request_status", args=[inquiry.pk, "close"]))
    inquiry.refresh_from_db()
    assert inquiry.status == RequestStatus.CLOSED
    response = client.post(
        reverse("inquiries_request_status", args=[inquiry.pk, "scheduled"]),
        follow=True,
    )
    assert "cannot become scheduled" in response.content.decode()
    inquiry.refresh_from_db()
    assert inquiry.status == RequestStatus.CLOSED


def test_staff_edit_notes_and_nothing_else(client, sales, home_page):
    inquiry = make_request()
    client.force_login(sales)
    response = client.post(
        reverse("inquiries_requests:edit", args=[inquiry.pk]),
        {"notes": "Called Ada; wants June.", "organisation": "Changed"},
    )
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.notes == "Called Ada; wants June."
    assert inquiry.organisation == "Kestrel Commons"
    assert ModelLogEntry.objects.filter(action="inquiries.notes").exists()


def test_filter_search_and_csv_export(client, sales, home_page):
    make_request(organisation="Kestrel Commons")
    make_request(
        organisation='=HYPERLINK("http://evil.example")',
        status=RequestStatus.CLOSED,
        months=["2026-07", "2026-08"],
    )
    client.force_login(sales)
    index = reverse("inquiries_requests:index")
    open_only = client.get(index, {"status": "new"}).content.decode()
    assert "Kestrel Commons" in open_only
    assert "HYPERLINK" not in open_only
    found = client.get(index, {"q": "kestrel"}).content.decode()
    assert "Kestrel Commons" in found
    export = client.get(index, {"export": "csv"})
    text = b"".join(export.streaming_content).decode()
    assert "July 2026, August 2026" in text
    assert "'=HYPERLINK" in text


def test_the_chart_counts_months_and_zones_of_open_requests_only(home_page):
    make_request(months=["2026-06", "2026-07"], time_zones=["Europe/Oslo"])
    make_request(
        months=["2026-06"],
        time_zones=["Europe/Oslo", "Asia/Tokyo"],
        status=RequestStatus.CONTACTED,
    )
    make_request(months=["2026-06"], time_zones=["Asia/Tokyo"], status="scheduled")
    make_request(months=["2026-07"], time_zones=["Asia/Tokyo"], status="closed")
    # A month already past in an old open request is no longer plannable.
    make_request(months=["2026-04", "2026-05"], time_zones=["America/Lima"])

    demand = open_request_demand(today=date(2026, 5, 15))
    assert demand.open_requests == 3
    months = {bar.label: bar.count for bar in demand.months}
    assert len(demand.months) == 12
    assert demand.months[0].label == "May 2026"
    assert months["May 2026"] == 1
    assert months["June 2026"] == 2
    assert months["July 2026"] == 1
    assert months["August 2026"] == 0
    assert [(bar.label, bar.count) for bar in demand.time_zones] == [
        ("Europe/Oslo", 2),
        ("America/Lima", 1),
        ("Asia/Tokyo", 1),
    ]
    assert demand.time_zones[0].percent == 100
    assert demand.time_zones[1].percent == 50

    html = RequestDemandPanel().render_html({})
    assert "Across 3 open requests" in html
    assert "June 2026" in html
    assert "Europe/Oslo" in html
