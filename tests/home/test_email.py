import smtplib
import socket
import ssl
import threading

import pytest
import requests
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


def test_an_invite_rides_as_rfc_6047_wants_or_typed_where_the_api_cannot(
    home_page, settings
):
    from email import message_from_bytes

    from home.email import CalendarInvite, render_templated_email

    invite = CalendarInvite(method="REQUEST", content=b"BEGIN:VCALENDAR\r\n")
    message = render_templated_email(
        template="emails/reminder",
        to=["ada@example.com"],
        context={"name": "Ada", "session_name": "Responding to reports"},
        invite=invite,
    )
    parsed = message_from_bytes(message.message().as_bytes())
    [alternative, attached] = parsed.get_payload()
    assert [p.get_content_type() for p in alternative.get_payload()] == [
        "text/plain",
        "text/html",
        "text/calendar",
    ]
    assert alternative.get_payload()[2].get_param("method") == "REQUEST"
    assert (attached.get_content_type(), attached.get_filename()) == (
        "application/ics",
        "invite.ics",
    )

    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    message = render_templated_email(
        template="emails/reminder",
        to=["ada@example.com"],
        context={"name": "Ada", "session_name": "Responding to reports"},
        invite=invite,
    )
    assert [mimetype for _, mimetype in message.alternatives] == ["text/html"]
    assert message.attachments[0][2] == "text/calendar; method=REQUEST"


@pytest.mark.parametrize(
    ("error", "meaning"),
    [
        (smtplib.SMTPSenderRefused(451, b"4.3.0 Try later", "a@x"), "retry"),
        (smtplib.SMTPRecipientsRefused({"a@x": (452, b"Mailbox full")}), "retry"),
        (smtplib.SMTPConnectError(421, b"Too busy"), "retry"),
        (ConnectionRefusedError(111, "Connection refused"), "retry"),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), "uncertain"),
        # A bare socket error can only come from opening the connection (once
        # connected smtplib turns them into SMTPServerDisconnected): nothing went.
        (TimeoutError("timed out"), "retry"),
        (socket.gaierror(-2, "Name or service not known"), "retry"),
        (ssl.SSLError(1, "wrong version number"), "retry"),
        # Not so for an HTTP call that may have reached the provider.
        (requests.ReadTimeout("read timed out"), "uncertain"),
        (smtplib.SMTPRecipientsRefused({"a@x": (550, b"No such user")}), "refused"),
        (smtplib.SMTPAuthenticationError(535, b"Bad login"), "config"),
    ],
)
def test_one_reading_of_what_a_failed_send_means_for_every_app(error, meaning):
    from home.mail_providers import Address, classify
    from newsletter.sending import providers

    assert classify(error, [Address("a@x")]).value == meaning
    # The newsletter reads errors with the same function, not a copy.
    assert providers.classify is classify


def test_a_tls_failure_opening_the_smtp_connection_is_retried(settings):
    """Django's SMTP backend against a server that does not speak TLS: the
    handshake fails before any command, so the message provably did not go."""
    from django.core.mail import EmailMessage, get_connection

    from home.mail_providers import Address, Failure, classify

    listener = socket.create_server(("127.0.0.1", 0))
    host, port = listener.getsockname()

    def greet_in_plain_text():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"220 plain.example ESMTP\r\n")
            conn.recv(1024)

    server = threading.Thread(target=greet_in_plain_text, daemon=True)
    server.start()
    backend = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=host,
        port=port,
        use_ssl=True,
        timeout=5,
    )
    with pytest.raises(OSError) as raised:
        backend.send_messages([EmailMessage("s", "b", "a@x", ["b@x"])])
    server.join(timeout=5)
    listener.close()

    assert not isinstance(raised.value, smtplib.SMTPException)
    assert classify(raised.value, [Address("b@x")]) is Failure.RETRY
