"""How each email provider takes a newsletter: in batches or one message at a time.

Anymail gives every provider the same `merge_data`, but where the merge fields
may appear differs: Mailgun, SendGrid, Brevo and SparkPost substitute them in the
message itself, so one API call carries a whole batch; Postmark and Amazon SES
substitute them only in templates stored at the provider, so the newsletter goes
one message per recipient. Batch mode also needs `merge_headers` (each person's
own List-Unsubscribe), which anymail's Mandrill backend lacks, so Mandrill goes
one message per recipient too. The defaults below follow each provider's
documented limits; the NEWSLETTER_* settings override them.
"""

import inspect
import sys
from dataclasses import dataclass, replace

from anymail.backends.base import AnymailBaseBackend, BasePayload
from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string

from .models import SendMode


@dataclass(frozen=True)
class ProviderProfile:
    """How to send to one provider: the mode, the batch size and the merge syntax."""

    mode: str
    batch_size: int
    # `merge_key` names a field in merge_data; `merge_placeholder` is how the
    # message body refers to it. Both are format strings taking the field name.
    merge_key: str = "{}"
    merge_placeholder: str = ""
    max_per_second: float = 0.0


# Our own placeholder for the single path, which substitutes it before sending.
SINGLE_PLACEHOLDER = "%%nl.{}%%"

PROFILES = {
    "anymail.backends.mailgun.EmailBackend": ProviderProfile(
        SendMode.BATCH, 1000, merge_placeholder="%recipient.{}%"
    ),
    # Without SENDGRID_MERGE_FIELD_FORMAT anymail passes keys through as they
    # are, so the key carries its delimiters.
    "anymail.backends.sendgrid.EmailBackend": ProviderProfile(
        SendMode.BATCH, 1000, merge_key="-{}-", merge_placeholder="-{}-"
    ),
    "anymail.backends.brevo.EmailBackend": ProviderProfile(
        SendMode.BATCH, 1000, merge_placeholder="{{{{ params.{} }}}}"
    ),
    "anymail.backends.sparkpost.EmailBackend": ProviderProfile(
        SendMode.BATCH, 1000, merge_placeholder="{{{{{}}}}}"
    ),
    # Batch would need merge_headers, which anymail's Mandrill backend lacks:
    # it would refuse every batch, or (IGNORE_UNSUPPORTED_FEATURES) send
    # List-Unsubscribe-Post without List-Unsubscribe, against RFC 8058.
    "anymail.backends.mandrill.EmailBackend": ProviderProfile(
        SendMode.SINGLE, 500, merge_placeholder="*|{}|*"
    ),
    # Anymail's test backend substitutes nothing; Mailgun's syntax lets tests
    # see what Mailgun would receive.
    "anymail.backends.test.EmailBackend": ProviderProfile(
        SendMode.BATCH, 1000, merge_placeholder="%recipient.{}%"
    ),
    "anymail.backends.postmark.EmailBackend": ProviderProfile(SendMode.SINGLE, 500),
    "anymail.backends.amazon_ses.EmailBackend": ProviderProfile(
        SendMode.SINGLE, 50, max_per_second=14
    ),
}
DEFAULT_PROFILE = ProviderProfile(SendMode.SINGLE, 100)


def profile_for(backend: str | None = None) -> ProviderProfile:
    """The provider's defaults for `backend` (EMAIL_BACKEND), with settings applied."""
    backend = backend or settings.EMAIL_BACKEND
    profile = PROFILES.get(backend, DEFAULT_PROFILE)
    if settings.NEWSLETTER_SEND_MODE:
        profile = replace(profile, mode=SendMode(settings.NEWSLETTER_SEND_MODE))
    if settings.NEWSLETTER_BATCH_SIZE:
        profile = replace(profile, batch_size=settings.NEWSLETTER_BATCH_SIZE)
    if settings.NEWSLETTER_MAX_PER_SECOND is not None:
        profile = replace(profile, max_per_second=settings.NEWSLETTER_MAX_PER_SECOND)
    if settings.NEWSLETTER_MERGE_FIELD_FORMAT:
        profile = replace(
            profile, merge_placeholder=settings.NEWSLETTER_MERGE_FIELD_FORMAT
        )
    if profile.mode == SendMode.BATCH and not (
        supports_batch(backend)
        and supports_merge_headers(backend)
        and is_merge_format(profile.merge_placeholder)
    ):
        # Without anymail, merge_data is ignored and one message would go to a
        # whole batch, every address in its To header; without merge_headers
        # nobody gets their own List-Unsubscribe; without a merge syntax every
        # personal link would be blank. Never: one message each instead.
        profile = replace(profile, mode=SendMode.SINGLE)
    return profile


def supports_batch(backend: str) -> bool:
    """Whether `backend` is an anymail backend, which understands merge_data."""
    try:
        return issubclass(import_string(backend), AnymailBaseBackend)
    except ImportError:
        return False


def supports_merge_headers(backend: str) -> bool:
    """Whether the anymail backend's payload can carry per-recipient headers.

    Anymail's base payload refuses `merge_headers`; a backend supports them when
    a payload class beside it (or beside a backend it extends) overrides that.
    """
    try:
        backend_class = import_string(backend)
    except ImportError:
        return False
    for cls in inspect.getmro(backend_class):
        module = sys.modules.get(cls.__module__)
        if module is None:
            continue
        for payload in vars(module).values():
            if (
                inspect.isclass(payload)
                and issubclass(payload, BasePayload)
                and payload.set_merge_headers is not BasePayload.set_merge_headers
            ):
                return True
    return False


def is_merge_format(value: str) -> bool:
    """Whether `value` turns each field name into a placeholder of its own."""
    if not value or "{}" not in value:
        return False
    try:
        return value.format("a") != value.format("b")
    except (IndexError, KeyError, ValueError):
        return False


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


def placeholder_format(*, mode: str, profile: ProviderProfile) -> str:
    if mode == SendMode.BATCH:
        return profile.merge_placeholder
    return SINGLE_PLACEHOLDER


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
