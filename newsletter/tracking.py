"""What a provider's tracking event means for who may be mailed.

Anymail normalises events across providers, but several of them (Postmark,
Brevo, Mandrill, MailerSend) report soft and hard bounces alike as `bounced`.
The raw event says which, so a small table per provider tells them apart; an
SMTP reply code of 4xx is temporary whatever the provider.

A deferral is not a bounce: the provider is still retrying, and some (Mailgun)
report every retry of one message as a temporary failure. Only a provider that
calls its deferral a soft bounce makes it count.
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


# (path to a field of the raw event, value) pairs that mark a soft bounce;
# lower-cased before comparing.
SOFT_BOUNCE_MARKERS = (
    (("Type",), "softbounce"),  # Postmark
    (("event",), "soft_bounce"),  # Brevo, Sendinblue, Mandrill
    (("type",), "activity.soft_bounced"),  # MailerSend
    (("event",), "soft bounce"),  # Mailtrap, reported as a deferral
    (("bounce", "bounceType"), "transient"),  # Amazon SES
)
# The first SMTP reply code (452) or enhanced status code (4.2.2) in a reply,
# wherever it starts: providers prefix it ("smtp; 452 ..."). Not inside a longer
# number or a dotted address, so "10.4.5.6" is no status code.
SMTP_STATUS = re.compile(r"(?<![\w.])([2-5])(?:\d\d|\.\d{1,3}\.\d{1,3})(?![\w.])")


def _raw_field(event: AnymailTrackingEvent, path: tuple[str, ...]) -> str:
    raw = event.esp_event
    if hasattr(raw, "get") and path[0] not in raw:
        # Mailgun wraps its event in "event-data".
        raw = raw.get("event-data")
    for name in path:
        raw = raw.get(name) if hasattr(raw, "get") else None
    return str(raw or "").lower()


def _marked_soft(event: AnymailTrackingEvent) -> bool:
    """Whether the provider itself says this failure is temporary."""
    return any(_raw_field(event, path) == value for path, value in SOFT_BOUNCE_MARKERS)


def _temporary_reply(event: AnymailTrackingEvent) -> bool:
    # The first code decides: a permanent 550 that quotes an earlier 421 is
    # still permanent.
    status = SMTP_STATUS.search(event.mta_response or "")
    return status is not None and status.group(1) == "4"


def effect_of(event: AnymailTrackingEvent) -> Effect:
    """Classify a normalised tracking event."""
    kind = event.event_type
    if kind == EventType.COMPLAINED:
        return Effect.COMPLAINT
    if kind == EventType.UNSUBSCRIBED:
        return Effect.UNSUBSCRIBE
    if kind == EventType.BOUNCED:
        soft = _marked_soft(event) or _temporary_reply(event)
        return Effect.SOFT_BOUNCE if soft else Effect.HARD_BOUNCE
    if kind == EventType.DEFERRED:
        # A deferral is retried by the provider and is no bounce yet, whatever
        # its reply code, unless the provider itself calls it a soft bounce.
        return Effect.SOFT_BOUNCE if _marked_soft(event) else Effect.NONE
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
