"""Provider events: bounces, complaints and unsubscribes stop mail, once per event."""

import base64
import datetime
import json

import pytest
from anymail.signals import AnymailTrackingEvent, EventType, RejectReason, tracking
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView

from newsletter.models import (
    ConsentAction,
    ConsentRecord,
    ProviderEvent,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    email_digest,
)
from newsletter.selectors import mailable_subscriptions
from newsletter.services import subscribers_import
from newsletter.tracking import Effect, effect_of

pytestmark = pytest.mark.django_db

WEBHOOK = "/anymail/postmark/tracking/"
SECRET = "hooks:correct-horse-battery"


@pytest.fixture
def webhook_secret(settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}


def send_event(**fields) -> None:
    """Deliver an event the way anymail's webhook views do: through the signal."""
    fields.setdefault("recipient", "Ada@Example.com")
    fields.setdefault("timestamp", datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC))
    tracking.send(
        sender=object, event=AnymailTrackingEvent(**fields), esp_name="TestESP"
    )


def is_stopped(subscriber) -> bool:
    return (
        Suppression.objects.filter(email_hash=subscriber.email_hash).exists()
        and not subscriber.subscriptions.exclude(
            status=SubscriptionStatus.UNSUBSCRIBED
        ).exists()
    )


def anything_mailable(lists) -> bool:
    return any(mailable_subscriptions(mailing_list=ml).exists() for ml in lists)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (
            {
                "event_type": EventType.BOUNCED,
                "reject_reason": RejectReason.BOUNCED,
                "mta_response": "550 5.1.1 No such user",
            },
            SuppressionReason.HARD_BOUNCE,
        ),
        (
            {"event_type": EventType.COMPLAINED, "reject_reason": RejectReason.SPAM},
            SuppressionReason.COMPLAINT,
        ),
        (
            {"event_type": EventType.UNSUBSCRIBED},
            SuppressionReason.PROVIDER_UNSUBSCRIBE,
        ),
        (
            {"event_type": EventType.REJECTED, "reject_reason": RejectReason.BOUNCED},
            SuppressionReason.HARD_BOUNCE,
        ),
    ],
    ids=["hard-bounce", "complaint", "unsubscribe", "rejected-as-bounced"],
)
def test_events_through_the_signal_suppress_the_address_once(
    lists, subscriber, fields, reason
):
    send_event(event_id="evt-1", **fields)
    assert is_stopped(subscriber)
    assert not anything_mailable(lists)
    assert Suppression.objects.get().reason == reason
    history = ConsentRecord.objects.count()

    send_event(event_id="evt-1", **fields)
    assert ProviderEvent.objects.count() == 1
    assert Suppression.objects.count() == 1
    assert ConsentRecord.objects.count() == history


def test_soft_bounces_are_counted_and_stop_mail_at_the_threshold(
    lists, subscriber, settings
):
    settings.NEWSLETTER_SOFT_BOUNCE_LIMIT = 3
    soft = {"event_type": EventType.BOUNCED, "esp_event": {"Type": "SoftBounce"}}
    send_event(event_id="s1", **soft)
    send_event(event_id="s1", **soft)  # a retry of the same event
    send_event(event_id="s2", **soft)
    subscriber.refresh_from_db()
    assert subscriber.soft_bounce_count == 2
    assert not is_stopped(subscriber)
    assert anything_mailable(lists)

    send_event(event_id="s3", **soft)
    assert is_stopped(subscriber)
    assert Suppression.objects.get().reason == SuppressionReason.SOFT_BOUNCES


def test_a_delivery_resets_the_soft_bounce_count(lists, subscriber):
    send_event(event_id="s1", event_type=EventType.BOUNCED, mta_response="452 full")
    subscriber.refresh_from_db()
    assert subscriber.soft_bounce_count == 1
    send_event(event_id="d1", event_type=EventType.DELIVERED)
    subscriber.refresh_from_db()
    assert subscriber.soft_bounce_count == 0
    assert anything_mailable(lists)


@pytest.mark.parametrize(
    ("mta_response", "effect"),
    [
        ("smtp; 452 4.2.2 Mailbox full", Effect.SOFT_BOUNCE),  # Amazon SES
        ("smtp;452 4.2.2 Mailbox full", Effect.SOFT_BOUNCE),  # Postmark
        ("452-4.2.2 The email account is over quota", Effect.SOFT_BOUNCE),
        ("4.2.2 The email account is over quota", Effect.SOFT_BOUNCE),
        ("Remote server said: 421 Try again later", Effect.SOFT_BOUNCE),
        ("smtp; 550 5.1.1 User unknown", Effect.HARD_BOUNCE),
        # A permanent reply that mentions a 4xx code or an address later on is
        # still permanent: the first status code decides.
        (
            "550 5.7.1 Blocked; earlier 421 replies from 192.0.4.12.7",
            Effect.HARD_BOUNCE,
        ),
        ("smtp; 554 5.7.1 Rejected for 10.4.5.6", Effect.HARD_BOUNCE),
        ("", Effect.HARD_BOUNCE),
    ],
)
def test_the_first_smtp_code_in_a_bounce_says_whether_it_is_temporary(
    mta_response, effect
):
    event = AnymailTrackingEvent(
        event_type=EventType.BOUNCED, mta_response=mta_response, recipient="a@b.c"
    )
    assert effect_of(event) is effect


def ses_bounce(bounce_type: str, diagnostic: str | None, message_id: str) -> list:
    """Amazon SES's bounce notification, normalised by anymail's own SES view."""
    recipient = {"emailAddress": "ada@example.com", "action": "failed"}
    if diagnostic is not None:
        recipient["diagnosticCode"] = diagnostic
    ses_event = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "MailboxFull" if bounce_type == "Transient" else "General",
            "bouncedRecipients": [recipient],
            "timestamp": "2025-03-01T16:33:54.907Z",
            "feedbackId": f"feedback-{message_id}",
        },
        "mail": {"messageId": message_id, "destination": ["ada@example.com"]},
    }
    sns_message = {
        "MessageId": f"sns-{message_id}",
        "Timestamp": "2025-03-01T16:34:00Z",
    }
    # The view's __init__ wants boto3, for confirming SNS subscriptions; the
    # parsing used here needs nothing from it.
    view = object.__new__(AmazonSESTrackingWebhookView)
    return view.esp_to_anymail_events(ses_event, sns_message)


@pytest.mark.parametrize(
    "diagnostic", ["smtp; 452 4.2.2 Mailbox full", None], ids=["code", "no-code"]
)
def test_an_ses_transient_bounce_is_soft(lists, subscriber, diagnostic):
    [event] = ses_bounce("Transient", diagnostic, "m1")
    tracking.send(sender=object, event=event, esp_name="Amazon SES")
    subscriber.refresh_from_db()
    assert subscriber.soft_bounce_count == 1
    assert not is_stopped(subscriber)
    assert anything_mailable(lists)


def test_an_ses_permanent_bounce_is_hard(lists, subscriber):
    [event] = ses_bounce("Permanent", "smtp; 550 5.1.1 User unknown", "m2")
    tracking.send(sender=object, event=event, esp_name="Amazon SES")
    assert is_stopped(subscriber)
    assert Suppression.objects.get().reason == SuppressionReason.HARD_BOUNCE


def mailgun_temporary_failure(token: str):
    """One retry of one message that Mailgun reports as a temporary failure."""
    payload = {
        "signature": {"timestamp": "1740846834", "token": token, "signature": "x"},
        "event-data": {
            "event": "failed",
            "severity": "temporary",
            "reason": "generic",
            "recipient": "ada@example.com",
            "timestamp": 1740846834.5,
            "id": f"id-{token}",
            "delivery-status": {
                "attempt-no": 1,
                "code": 452,
                "message": "4.2.2 The email account is over quota.",
                "description": "",
                "retry-seconds": 600,
            },
            "message": {"headers": {"message-id": "one-message@example.com"}},
        },
    }
    view = MailgunTrackingWebhookView(webhook_signing_key="unused")
    return view.esp_to_anymail_event(payload)


def test_retries_of_one_deferred_message_never_suppress(lists, subscriber, settings):
    settings.NEWSLETTER_SOFT_BOUNCE_LIMIT = 3
    for attempt in range(5):
        event = mailgun_temporary_failure(f"retry-{attempt}")
        assert event.event_type == EventType.DEFERRED
        tracking.send(sender=object, event=event, esp_name="Mailgun")
    subscriber.refresh_from_db()
    assert subscriber.soft_bounce_count == 0
    assert not is_stopped(subscriber)
    assert anything_mailable(lists)


def test_a_deferral_the_provider_calls_a_soft_bounce_counts(lists, subscriber):
    # Mailtrap reports its soft bounces as deferrals, and says so in the event.
    send_event(
        event_id="t1",
        event_type=EventType.DEFERRED,
        esp_event={"event": "soft bounce"},
        mta_response="452 4.2.2 Mailbox full",
    )
    subscriber.refresh_from_db()
    assert subscriber.soft_bounce_count == 1


def test_deferrals_and_opens_change_nothing(lists, subscriber):
    send_event(event_id="x1", event_type=EventType.DEFERRED)
    send_event(event_id="x2", event_type=EventType.OPENED)
    subscriber.refresh_from_db()
    assert subscriber.soft_bounce_count == 0
    assert not ProviderEvent.objects.exists()


def test_a_bounce_for_an_unknown_address_still_blocks_a_later_import(lists):
    send_event(
        event_id="b9",
        event_type=EventType.BOUNCED,
        recipient="stranger@example.com",
    )
    result = subscribers_import(
        rows=[{"email": "Stranger@example.com"}],
        mailing_lists=lists,
        consent_source="Old spreadsheet",
    )
    assert result.added == 0
    assert sum(result.skipped.values()) == 1


def post_webhook(client, payload: dict, auth: str | None = SECRET):
    headers = {}
    if auth is not None:
        headers["HTTP_AUTHORIZATION"] = (
            "Basic " + base64.b64encode(auth.encode()).decode()
        )
    return client.post(
        WEBHOOK, json.dumps(payload), content_type="application/json", **headers
    )


HARD_BOUNCE = {
    "RecordType": "Bounce",
    "ID": 4323372036854775807,
    "Type": "HardBounce",
    "TypeCode": 1,
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "MessageStream": "broadcast",
    "Description": "The server was unable to deliver your message.",
    "Details": "smtp;550 5.1.1 The email account does not exist.",
    "Email": "ada@example.com",
    "BouncedAt": "2025-03-01T16:33:54.9070259Z",
    "Metadata": {},
}
COMPLAINT = {
    **HARD_BOUNCE,
    "RecordType": "SpamComplaint",
    "ID": 4323372036854775808,
    "Type": "SpamComplaint",
    "TypeCode": 512,
}
UNSUBSCRIBE = {
    "RecordType": "SubscriptionChange",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "MessageStream": "broadcast",
    "ChangedAt": "2025-03-01T16:40:00Z",
    "Recipient": "ada@example.com",
    "Origin": "Recipient",
    "SuppressSending": True,
    "SuppressionReason": "ManualSuppression",
    "Metadata": {},
}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (HARD_BOUNCE, SuppressionReason.HARD_BOUNCE),
        (COMPLAINT, SuppressionReason.COMPLAINT),
        (UNSUBSCRIBE, SuppressionReason.PROVIDER_UNSUBSCRIBE),
    ],
    ids=["hard-bounce", "complaint", "unsubscribe"],
)
def test_postmark_webhook_suppresses_and_ignores_a_replay(
    client, lists, subscriber, webhook_secret, payload, reason
):
    response = post_webhook(client, payload)
    assert response.status_code == 200
    assert is_stopped(subscriber)
    assert Suppression.objects.get().reason == reason
    assert ConsentRecord.objects.filter(action=ConsentAction.SUPPRESSED).count() == 1
    counts = (ProviderEvent.objects.count(), ConsentRecord.objects.count())

    # Providers retry: the same event a second time changes nothing more.
    assert post_webhook(client, payload).status_code == 200
    assert (ProviderEvent.objects.count(), ConsentRecord.objects.count()) == counts


def test_postmark_soft_bounce_counts_once_per_event(
    client, lists, subscriber, webhook_secret
):
    soft = {
        **HARD_BOUNCE,
        "Type": "SoftBounce",
        "TypeCode": 4096,
        "Details": "smtp;452 4.2.2 Mailbox full",
    }
    post_webhook(client, soft)
    post_webhook(client, soft)
    subscriber.refresh_from_db()
    assert subscriber.soft_bounce_count == 1
    assert not is_stopped(subscriber)


@pytest.mark.parametrize("auth", [None, "hooks:wrong", "someone:else"])
def test_the_webhook_refuses_requests_without_the_secret(
    client, lists, subscriber, webhook_secret, auth
):
    response = post_webhook(client, HARD_BOUNCE, auth=auth)
    assert response.status_code == 400
    assert not Suppression.objects.exists()
    assert subscriber.subscriptions.filter(
        status=SubscriptionStatus.CONFIRMED
    ).count() == len(lists)


def test_suppression_keeps_only_a_hash(lists, subscriber):
    send_event(event_id="c1", event_type=EventType.COMPLAINED)
    suppression = Suppression.objects.get()
    assert suppression.email_hash == email_digest("ada@example.com")
    assert "ada" not in str(suppression.__dict__)
