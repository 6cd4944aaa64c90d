"""What a provider's tracking event means for who may be mailed.

Anymail normalises events across providers, but several of them (Postmark,
Brevo, Mandrill, MailerSend) report soft and hard bounces alike as `bounced`.
The raw event says which, so a small table per provider tells them apart; an
SMTP reply code of 4xx is temporary whatever the provider.
"""

import enum
import hashlib
import re

from anymail.signals import AnymailTrackingEvent, EventType, RejectReason


class Effect(enum.Enum):
    """The one thing an event can do to an address."""

    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    DELIVERED = "delivered"
    NONE = "none"


# (field of the raw event, value) pairs that mark a soft bounce reported as
# `bounced`; lower-cased before comparing.
SOFT_BOUNCE_MARKERS = (
    ("Type", "softbounce"),  # Postmark
    ("event", "soft_bounce"),  # Brevo, Sendinblue, Mandrill
    ("type", "activity.soft_bounced"),  # MailerSend
    ("event", "soft bounce"),  # Mailtrap
)
TEMPORARY_SMTP_REPLY = re.compile(r"^\s*4\d\d\b|^\s*4\.\d+\.\d+")


def _raw_field(event: AnymailTrackingEvent, name: str) -> str:
    raw = event.esp_event
    value = None
    if hasattr(raw, "get"):
        value = raw.get(name)
        if value is None and isinstance(raw.get("event-data"), dict):
            value = raw["event-data"].get(name)
    return str(value or "").lower()


def _is_soft(event: AnymailTrackingEvent) -> bool:
    if any(_raw_field(event, field) == value for field, value in SOFT_BOUNCE_MARKERS):
        return True
    return bool(TEMPORARY_SMTP_REPLY.match(event.mta_response or ""))


def effect_of(event: AnymailTrackingEvent) -> Effect:
    """Classify a normalised tracking event."""
    kind = event.event_type
    if kind == EventType.COMPLAINED:
        return Effect.COMPLAINT
    if kind == EventType.UNSUBSCRIBED:
        return Effect.UNSUBSCRIBE
    if kind == EventType.BOUNCED:
        return Effect.SOFT_BOUNCE if _is_soft(event) else Effect.HARD_BOUNCE
    if kind == EventType.DEFERRED:
        # A deferral is retried by the provider and is no bounce yet, unless the
        # provider itself calls it a soft bounce (Mailtrap does).
        return Effect.SOFT_BOUNCE if _is_soft(event) else Effect.NONE
    if kind == EventType.REJECTED:
        # The provider refused to send because of its own suppression list,
        # which remembers earlier bounces, complaints and unsubscribes.
        hard = (RejectReason.BOUNCED, RejectReason.INVALID, RejectReason.TIMED_OUT)
        if event.reject_reason in hard:
            return Effect.HARD_BOUNCE
        if event.reject_reason == RejectReason.UNSUBSCRIBED:
            return Effect.UNSUBSCRIBE
        if event.reject_reason == RejectReason.SPAM:
            return Effect.COMPLAINT
    if kind == EventType.DELIVERED:
        return Effect.DELIVERED
    return Effect.NONE


def event_key(event: AnymailTrackingEvent) -> str:
    """The provider's event id or, for providers that send none, a stable digest.

    Some events (Postmark's subscription changes, for one) carry no id; a digest
    of what identifies them still makes a retried delivery of the same payload
    recognisable.
    """
    if event.event_id:
        return str(event.event_id)[:255]
    parts = [
        str(event.event_type),
        str(event.recipient or ""),
        str(event.message_id or ""),
        event.timestamp.isoformat() if event.timestamp else "",
        str(event.description or ""),
    ]
    return "digest:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
