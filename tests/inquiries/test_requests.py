"""A visitor asks for group training: stored, mailed to staff, acknowledged."""

import pytest
from django.core import mail

from home.models import SiteSettings
from inquiries.models import GroupTrainingRequest, RequestStatus
from tests.inquiries.conftest import valid_request


def post(client, page, data, **extra):
    return client.post(page.url, data, **extra)


def test_the_form_offers_the_coming_twelve_months_and_every_zone(client, request_page):
    response = client.get(request_page.url)
    assert response.status_code == 200
    form = response.context["form"]
    months = [value for value, _ in form.fields["months"].choices]
    assert months[0] == "2026-05"
    assert months[-1] == "2027-04"
    assert len(months) == 12
    zones = {value for value, _ in form.fields["time_zones"].choices}
    assert {"Europe/Oslo", "America/Argentina/Buenos_Aires", "UTC"} <= zones
    body = response.content.decode()
    assert "A conference, a company, a project." in body  # the editor's help text
    assert "zone-picker.js" in body


def test_a_request_is_stored_mailed_to_staff_and_acknowledged(
    client, request_page, commit
):
    with commit():
        response = post(client, request_page, valid_request())
    assert response.status_code == 302
    assert response["Location"] == f"{request_page.url}?sent"

    stored = GroupTrainingRequest.objects.get()
    assert stored.organisation == "Gull Point Conference"
    assert stored.name == "Rae Lindqvist"
    assert stored.months == ["2026-06", "2026-09"]
    assert stored.time_zones == ["America/Halifax", "Europe/Oslo"]
    assert stored.group_size == 18
    assert stored.status == RequestStatus.NEW

    staff, acknowledgement = sorted(mail.outbox, key=lambda message: message.to)
    assert staff.to == ["hello@harbour.example"]  # the site settings' address
    assert staff.reply_to == ["rae@gullpoint.example"]
    assert "Gull Point Conference" in staff.subject
    assert "spread over two continents" in staff.body
    assert f"/admin/inquiries/requests/inspect/{stored.pk}/" in staff.body

    assert acknowledgement.to == ["rae@gullpoint.example"]
    assert "June 2026" in acknowledgement.body
    assert "Europe/Oslo" in acknowledgement.body
    # Sent to whatever address was typed: none of the visitor's words go back.
    for typed in ("Rae", "Gull Point", "two continents"):
        assert typed not in acknowledgement.subject
        assert typed not in acknowledgement.body
        assert typed not in acknowledgement.alternatives[0][0]

    thanks = client.get(response["Location"])
    assert "your request is on its way" in thanks.content.decode()
    assert "<form" not in thanks.content.decode().split("<main")[1].split("</main>")[0]


def test_without_a_staff_address_the_request_is_still_stored_and_acknowledged(
    client, request_page, commit
):
    SiteSettings.objects.update(contact_email="")
    with commit():
        post(client, request_page, valid_request())
    assert GroupTrainingRequest.objects.count() == 1
    assert [message.to for message in mail.outbox] == [["rae@gullpoint.example"]]


LONG = "x" * 10_000

BAD_INPUT = [
    ({"organisation": ""}, "organisation", "Enter your organisation's name."),
    ({"name": ""}, "name", "Enter your name."),
    ({"email": ""}, "email", "Enter your email address."),
    ({"email": "rae at gullpoint"}, "email", "Enter an email address like"),
    ({"months": None}, "months", "Choose at least one month."),
    ({"time_zones": None}, "time_zones", "Choose at least one time zone."),
    ({"group_size": ""}, "group_size", "Say roughly how many people"),
    ({"organisation": LONG}, "organisation", "Keep the organisation's name to 200"),
    ({"name": LONG}, "name", "Keep your name to 150 characters"),
    ({"message": LONG}, "message", "Keep the message to 5000 characters"),
    ({"email": LONG + "@example.com"}, "email", "Keep the address to 254"),
    ({"time_zones": ["Mars/Olympus_Mons"]}, "time_zones", "“Mars/Olympus_Mons” is"),
    ({"months": ["2026-04"]}, "months", "2026-04 has passed"),
    ({"months": ["2027-05"]}, "months", "2027-05 has passed or is more than a year"),
    ({"group_size": "0"}, "group_size", "at least 1 person"),
    ({"group_size": "10001"}, "group_size", "up to 10000 people"),
    ({"group_size": "a dozen"}, "group_size", "whole number"),
    ({"name": "Rae\r\nBcc: all@example.com"}, "name", "Use one line"),
    ({"organisation": "Gull\nPoint"}, "organisation", "Use one line"),
    ({"name": "=?utf-8?q?Visit_evil?="}, "name", "cannot contain “=?”"),
    ({"name": "<script>alert(1)</script>"}, "name", "without HTML tags"),
    ({"organisation": "<img src=x onerror=alert(1)>"}, "organisation", "HTML tags"),
    ({"message": "Hello <script>alert(1)</script>"}, "message", "HTML tags"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUT)
def test_bad_input_is_explained_and_nothing_is_stored_or_sent(
    client, request_page, commit, changes, field, message
):
    with commit():
        response = post(client, request_page, valid_request(**changes))
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors[field])
    assert message in errors
    body = response.content.decode()
    assert "Nothing was sent yet" in body
    assert "<script>alert" not in body  # shown back escaped, if at all
    assert not GroupTrainingRequest.objects.exists()
    assert mail.outbox == []


def test_a_group_of_fewer_than_ten_may_say_so(client, request_page):
    response = post(client, request_page, valid_request(message="We are <10 people."))
    assert response.status_code == 302


def test_the_honeypot_stores_nothing(client, request_page, commit):
    with commit():
        response = post(client, request_page, valid_request(website="spam.example"))
    assert response.status_code == 400
    assert "hidden anti-spam field" in response.content.decode()
    assert not GroupTrainingRequest.objects.exists()
    assert mail.outbox == []


def test_too_many_posts_from_one_address_are_refused(
    client, request_page, settings, commit
):
    settings.INQUIRIES_RATE_LIMIT = 2
    for number in range(2):
        response = post(client, request_page, valid_request(name=f"Person {number}"))
        assert response.status_code == 302
    with commit():
        response = post(client, request_page, valid_request(name="Person 3"))
    assert response.status_code == 429
    assert "Too many messages from your connection" in response.content.decode()
    assert GroupTrainingRequest.objects.count() == 2
    # Another address is not held up.
    response = post(client, request_page, valid_request(), REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302
