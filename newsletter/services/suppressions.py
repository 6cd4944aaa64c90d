"""Suppressions and erasure: addresses that must get no more mail, whatever comes later.

A suppression keeps only the address's hash, so it outlives the subscriber it
stopped; an erasure deletes the person and leaves that hash behind.
"""

from dataclasses import replace

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from ..models import (
    ConsentAction,
    Subscriber,
    Suppression,
    SuppressionReason,
    email_digest,
)
from .subscriptions import Origin, consent_record, end_subscriptions


def suppression_ensure(
    *, email: str, reason: str, detail: str = ""
) -> tuple[Suppression, bool]:
    """Put an address's hash on the suppression list, touching nothing else.

    Idempotent; returns the suppression and whether it is new. For a subscriber
    about to be deleted, where writing their history would be pointless.
    """
    return Suppression.objects.get_or_create(
        email_hash=email_digest(email),
        defaults={"reason": reason, "detail": detail[:255]},
    )


def suppression_add(
    *, email: str, reason: str, origin: Origin
) -> tuple[Suppression, bool]:
    """Stop all mail to an address, now and after any later sign-up or import.

    Idempotent: a second call for the same address changes nothing. Returns the
    suppression and whether it is new.
    """
    digest = email_digest(email)
    now = timezone.now()
    with transaction.atomic():
        suppression, created = suppression_ensure(
            email=email, reason=reason, detail=origin.detail
        )
        subscriber = (
            Subscriber.objects.select_for_update().filter(email_hash=digest).first()
        )
        if subscriber is not None:
            active = end_subscriptions(subscriber, list_ids=None, now=now)
            if created or active:
                consent_record(
                    subscriber=subscriber,
                    action=ConsentAction.SUPPRESSED,
                    origin=replace(
                        origin,
                        detail=f"{SuppressionReason(reason).label}. {origin.detail}",
                    ),
                ).save()
    return suppression, created


def subscriber_erase(*, subscriber: Subscriber, user=None) -> None:
    """Erase everything about one person, keeping only the hash that stops mail.

    The admin's history keeps entries about the subscriber; their labels held the
    address, so they are rewritten to the subscriber's number.
    """
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        suppression_ensure(
            email=subscriber.email,
            reason=SuppressionReason.ERASED,
            detail="Erased on request",
        )
        label = f"Subscriber #{subscriber.pk} (erased)"
        ModelLogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Subscriber),
            object_id=str(subscriber.pk),
        ).update(label=label)
        log(instance=subscriber, action="newsletter.erase", user=user, title=label)
        subscriber.delete()
