"""How each email provider takes a newsletter: in batches or one message at a time.

Anymail gives every provider the same `merge_data`, but where the merge fields
may appear differs: Mailgun, SendGrid, Brevo, SparkPost and Mandrill substitute
them in the message itself, so one API call carries a whole batch; Postmark and
Amazon SES substitute them only in templates stored at the provider, so the
newsletter goes one message per recipient. The defaults below follow each
provider's documented limits; the NEWSLETTER_* settings override them.
"""

from dataclasses import dataclass, replace

from anymail.backends.base import AnymailBaseBackend
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
    "anymail.backends.mandrill.EmailBackend": ProviderProfile(
        SendMode.BATCH, 1000, merge_placeholder="*|{}|*"
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
    if profile.mode == SendMode.BATCH and not supports_batch(backend):
        # Without anymail, merge_data is ignored and one message would go to a
        # whole batch, every address in its To header. Never.
        profile = replace(profile, mode=SendMode.SINGLE)
    return profile


def supports_batch(backend: str) -> bool:
    """Whether `backend` is an anymail backend, which understands merge_data."""
    try:
        return issubclass(import_string(backend), AnymailBaseBackend)
    except ImportError:
        return False


@register()
def check_send_mode(app_configs, **kwargs) -> list[Error]:
    if settings.NEWSLETTER_SEND_MODE == SendMode.BATCH and not supports_batch(
        settings.EMAIL_BACKEND
    ):
        return [
            Error(
                "NEWSLETTER_SEND_MODE is batch, but EMAIL_BACKEND is not an "
                "anymail backend, which batch sending needs.",
                hint="Unset NEWSLETTER_SEND_MODE, or use an anymail backend.",
                id="newsletter.E001",
            )
        ]
    return []


def placeholder_format(*, mode: str, profile: ProviderProfile) -> str:
    if mode == SendMode.BATCH:
        return profile.merge_placeholder
    return SINGLE_PLACEHOLDER
