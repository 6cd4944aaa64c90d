import pytest
from django.core import mail
from django.db import transaction

from home.email import Attachment, send_templated_email

pytestmark = pytest.mark.django_db


def send_reminder(**overrides):
    return send_templated_email(
        template="emails/reminder",
        to=["ada@example.com"],
        context={"name": "Ada <Lovelace>", "session_name": "Responding to reports"},
        **overrides,
    )


def test_mail_leaves_only_when_the_transaction_commits(home_page, commit):
    with commit():
        send_reminder()
        assert mail.outbox == []
    assert len(mail.outbox) == 1


def test_a_rolled_back_change_sends_nothing(home_page, commit):
    class Abort(Exception):
        pass

    with commit(), pytest.raises(Abort), transaction.atomic():
        send_reminder()
        raise Abort
    assert mail.outbox == []


def test_message_has_subject_text_and_html_with_the_site_footer(home_page, commit):
    with commit():
        send_reminder(reply_to=["sales@harbour.example"])
    [message] = mail.outbox
    # The subject template spans two lines; the header must not.
    assert message.subject == "Your seat on Responding to reports is saved"
    assert message.to == ["ada@example.com"]
    assert message.reply_to == ["sales@harbour.example"]
    assert "Hello Ada <Lovelace>," in message.body
    assert "1 Test Street" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Hello Ada &lt;Lovelace&gt;," in html
    assert "1 Test Street<br>Testville" in html


def test_attachments_and_headers_travel_with_the_message(home_page, commit):
    invite = Attachment("session.ics", b"BEGIN:VCALENDAR\r\n", "text/calendar")
    with commit():
        send_reminder(attachments=[invite], headers={"X-Order": "A-1"})
    [message] = mail.outbox
    assert message.attachments == [
        ("session.ics", "BEGIN:VCALENDAR\r\n", "text/calendar")
    ]
    assert message.extra_headers["X-Order"] == "A-1"


def test_a_failing_backend_is_logged_not_raised(home_page, commit, settings, caplog):
    settings.EMAIL_BACKEND = "tests.home.test_email.BrokenBackend"
    with commit():
        send_reminder()
    assert "mail server down" in caplog.text


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("mail server down")


def test_subjects_are_plain_text_not_html(home_page, commit):
    with commit():
        send_templated_email(
            template="emails/reminder",
            to=["ada@example.com"],
            context={"name": "Ada", "session_name": "Q&A <live>"},
        )
    assert mail.outbox[0].subject == "Your seat on Q&A <live> is saved"
