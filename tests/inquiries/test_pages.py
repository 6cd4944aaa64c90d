"""Where editors may place the inquiry pages, and the contact form."""

import pytest
from django.core import mail
from wagtail.test.utils import WagtailPageTestCase

from home.models import ContentPage, HomePage
from inquiries.models import ContactMessage, ContactPage, GroupTrainingRequestPage
from tests.inquiries.conftest import valid_request


class InquiryPageRulesTest(WagtailPageTestCase):
    def test_where_the_pages_go(self):
        for model in (GroupTrainingRequestPage, ContactPage):
            self.assertAllowedParentPageTypes(model, {HomePage, ContentPage})
            self.assertAllowedSubpageTypes(model, set())
            self.assertCanCreateAt(ContentPage, model)
            self.assertCanCreateAt(HomePage, model)
            self.assertCanNotCreateAt(model, ContentPage)


def test_a_contact_message_is_stored_mailed_and_acknowledged(
    client, contact_page, commit
):
    with commit():
        response = client.post(
            contact_page.url,
            {
                "name": "Noor Haddad",
                "email": "noor@example.com",
                "message": "Do you run workshops in French?",
                "website": "",
            },
        )
    assert response.status_code == 302
    stored = ContactMessage.objects.get()
    assert (stored.name, stored.email) == ("Noor Haddad", "noor@example.com")
    staff, acknowledgement = sorted(mail.outbox, key=lambda message: message.to)
    assert staff.to == ["hello@harbour.example"]
    assert staff.reply_to == ["noor@example.com"]
    assert "in French" in staff.body
    assert acknowledgement.to == ["noor@example.com"]
    for typed in ("Noor", "French"):
        assert typed not in acknowledgement.subject + acknowledgement.body
    page = client.get(contact_page.url).content.decode()
    assert "What would you like to ask?" in page  # the editor's help text
    assert "time_zones" not in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"message": ""}, "Write your message."),
        ({"message": "y" * 10_000}, "Keep the message to 5000"),
        ({"name": "Noor\r\nBcc: x@example.com"}, "Use one line"),
        ({"message": "<script>alert(1)</script>"}, "without HTML tags"),
        ({"website": "http://spam.example"}, "hidden anti-spam field"),
    ],
)
def test_a_bad_contact_message_is_refused(
    client, contact_page, commit, changes, message
):
    data = {"name": "Noor", "email": "noor@example.com", "message": "Hello"}
    with commit():
        response = client.post(contact_page.url, {**data, **changes})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ContactMessage.objects.exists()
    assert mail.outbox == []


def test_the_contact_and_request_forms_share_one_limit(
    client, contact_page, request_page, settings
):
    settings.INQUIRIES_RATE_LIMIT = 1
    data = {"name": "Noor", "email": "noor@example.com", "message": "Hello"}
    assert client.post(contact_page.url, data).status_code == 302
    assert client.post(request_page.url, valid_request()).status_code == 429
