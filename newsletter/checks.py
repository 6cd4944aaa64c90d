"""System checks for the newsletter's sending settings."""

from django.conf import settings
from django.core.checks import Error, register

from .models import SendMode
from .sending.providers import (
    DEFAULT_PROFILE,
    PROFILES,
    is_merge_format,
    supports_batch,
    supports_merge_headers,
)


def _batch_wanted(backend: str) -> bool:
    mode = settings.NEWSLETTER_SEND_MODE or PROFILES.get(backend, DEFAULT_PROFILE).mode
    return mode == SendMode.BATCH


@register()
def check_send_mode(app_configs, **kwargs) -> list[Error]:
    backend = settings.EMAIL_BACKEND
    errors = []
    if settings.NEWSLETTER_SEND_MODE == SendMode.BATCH and not supports_batch(backend):
        errors.append(
            Error(
                "NEWSLETTER_SEND_MODE is batch, but EMAIL_BACKEND is not an "
                "anymail backend, which batch sending needs.",
                hint="Unset NEWSLETTER_SEND_MODE, or use an anymail backend.",
                id="newsletter.E001",
            )
        )
    elif _batch_wanted(backend) and not supports_merge_headers(backend):
        errors.append(
            Error(
                f"Batch sending needs merge_headers (each person's "
                f"List-Unsubscribe), which {backend} does not support.",
                hint="Set NEWSLETTER_SEND_MODE=single for this provider.",
                id="newsletter.E002",
            )
        )
    merge_format = settings.NEWSLETTER_MERGE_FIELD_FORMAT
    if merge_format and not is_merge_format(merge_format):
        errors.append(
            Error(
                f"NEWSLETTER_MERGE_FIELD_FORMAT {merge_format!r} has no '{{}}' for "
                "the field name, so every personal link would be the same.",
                hint="Write the provider's merge syntax with {} for the name, "
                "e.g. %recipient.{}% for Mailgun.",
                id="newsletter.E003",
            )
        )
    elif (
        _batch_wanted(backend)
        and backend not in PROFILES
        and supports_batch(backend)
        and not merge_format
    ):
        errors.append(
            Error(
                f"Batch sending through {backend} needs its merge-field syntax.",
                hint="Set NEWSLETTER_MERGE_FIELD_FORMAT, with {} for the field "
                "name, or NEWSLETTER_SEND_MODE=single.",
                id="newsletter.E003",
            )
        )
    return errors


@register()
def check_claim_lease(app_configs, **kwargs) -> list[Error]:
    # A worker renews its claim at each hand-over, but a batch may run until
    # the task's time is up plus one provider call. A shorter lease would let
    # another worker take a live batch for a dead one.
    needed = settings.NEWSLETTER_TASK_SECONDS + settings.EMAIL_TIMEOUT
    if needed < settings.NEWSLETTER_CLAIM_LEASE:
        return []
    return [
        Error(
            f"NEWSLETTER_CLAIM_LEASE ({settings.NEWSLETTER_CLAIM_LEASE} s) must be "
            f"longer than NEWSLETTER_TASK_SECONDS plus EMAIL_TIMEOUT ({needed} s).",
            hint="Raise NEWSLETTER_CLAIM_LEASE or lower NEWSLETTER_TASK_SECONDS.",
            id="newsletter.E004",
        )
    ]
