"""What a provider's tracking events do: suppress an address that bounced, complained
or unsubscribed, count soft bounces, and mark the issue delivery they are about.

`newsletter.tracking` classifies an event; these actions act on it, once each.
"""

from anymail.signals import AnymailTrackingEvent
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..models import (
    Delivery,
    ProviderEvent,
    Subscriber,
    SuppressionReason,
    email_digest,
    normalise_email,
)
from ..selectors import send_figures
from ..tracking import Effect, effect_of, event_key
from .sends import issue_send_pause
from .subscriptions import Origin
from .suppressions import suppression_add

TRACKING_REASONS = {
    Effect.HARD_BOUNCE: SuppressionReason.HARD_BOUNCE,
    Effect.COMPLAINT: SuppressionReason.COMPLAINT,
    Effect.UNSUBSCRIBE: SuppressionReason.PROVIDER_UNSUBSCRIBE,
}


def tracking_event_process(*, event: AnymailTrackingEvent, esp_name: str) -> str:
    """Act once on a provider's tracking event; returns what happened, for logs.

    Hard bounces, complaints and provider-side unsubscribes suppress the address;
    soft bounces count towards NEWSLETTER_SOFT_BOUNCE_LIMIT; a delivery clears
    the count, since only consecutive failures say the mailbox is gone.
    """
    effect = effect_of(event)
    if effect is Effect.NONE or not event.recipient:
        return "ignored"
    email = normalise_email(str(event.recipient))
    digest = email_digest(email)
    if effect is Effect.DELIVERED:
        Subscriber.objects.filter(email_hash=digest, soft_bounce_count__gt=0).update(
            soft_bounce_count=0
        )
        return "delivered"
    key = event_key(event)
    origin = Origin(source="provider", detail=f"{esp_name} event {key}"[:255])
    with transaction.atomic():
        try:
            with transaction.atomic():
                ProviderEvent.objects.create(
                    esp_name=esp_name[:40], event_id=key, event_type=effect.value
                )
        except IntegrityError:
            return "duplicate"
        if effect in TRACKING_REASONS:
            suppression_add(email=email, reason=TRACKING_REASONS[effect], origin=origin)
            return effect.value
        updated = Subscriber.objects.filter(email_hash=digest).update(
            soft_bounce_count=F("soft_bounce_count") + 1
        )
        if not updated:
            return "soft_bounce_unknown_address"
        count = Subscriber.objects.get(email_hash=digest).soft_bounce_count
        if count >= settings.NEWSLETTER_SOFT_BOUNCE_LIMIT:
            suppression_add(
                email=email, reason=SuppressionReason.SOFT_BOUNCES, origin=origin
            )
            return "soft_bounce_limit"
    return effect.value


def _delivery_for_event(event: AnymailTrackingEvent) -> Delivery | None:
    metadata = event.metadata or {}
    delivery_id = metadata.get("delivery")
    if delivery_id and str(delivery_id).isdigit():
        return Delivery.objects.filter(pk=int(delivery_id)).first()
    if event.message_id and event.recipient:
        return (
            Delivery.objects.filter(
                esp_message_id=str(event.message_id)[:255],
                subscriber__email_hash=email_digest(str(event.recipient)),
            )
            .order_by("-pk")
            .first()
        )
    return None


DELIVERY_EVENT_FIELDS = {
    Effect.DELIVERED: "delivered_at",
    Effect.HARD_BOUNCE: "bounced_at",
    Effect.SOFT_BOUNCE: "bounced_at",
    Effect.COMPLAINT: "complained_at",
    Effect.UNSUBSCRIBE: "unsubscribed_at",
}


def delivery_track_event(*, event: AnymailTrackingEvent, esp_name: str) -> str:
    """Note a tracking event on the issue delivery it is about.

    A delivery the provider reports on was accepted by it: a row that is
    uncertain, or queued or claimed again after it was (staff chose to resend),
    becomes sent, so the copy it stood for is not sent a second time. A
    complaint may pause the send (NEWSLETTER_COMPLAINT_*).
    """
    effect = effect_of(event)
    field_name = DELIVERY_EVENT_FIELDS.get(effect)
    if field_name is None:
        return "ignored"
    delivery = _delivery_for_event(event)
    if delivery is None:
        return "no_delivery"
    at = event.timestamp or timezone.now()
    with transaction.atomic():
        Delivery.objects.filter(
            pk=delivery.pk, **{f"{field_name}__isnull": True}
        ).update(**{field_name: at})
        Delivery.objects.filter(pk=delivery.pk).confirm_sent(
            message_id=str(event.message_id or "")[:255],
            detail=f"Confirmed by a {esp_name} tracking event.",
        )
    if effect is Effect.COMPLAINT:
        _pause_on_complaints(send_id=delivery.send_id)
    return field_name


def _pause_on_complaints(*, send_id: int) -> None:
    figures = send_figures(send_id=send_id)
    base = max(
        figures["delivered"] or figures["sent"], settings.NEWSLETTER_COMPLAINT_BASE
    )
    if figures["complained"] / base > settings.NEWSLETTER_COMPLAINT_PAUSE_RATE:
        issue_send_pause(
            send_id=send_id,
            reason=f"Complaints passed {settings.NEWSLETTER_COMPLAINT_PAUSE_RATE:.1%} "
            f"of deliveries ({figures['complained']} so far).",
        )


def delivery_note_unsubscribe(*, delivery_id: int, subscriber_id: int) -> None:
    """Count an unsubscribe from an issue's own link in that issue's figures."""
    Delivery.objects.filter(
        pk=delivery_id, subscriber_id=subscriber_id, unsubscribed_at__isnull=True
    ).update(unsubscribed_at=timezone.now())
