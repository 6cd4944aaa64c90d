"""How each email provider takes a newsletter: in batches or one message at a time.

Anymail gives every provider the same `merge_data`, but where the merge fields
may appear differs: Mailgun, SendGrid, Brevo and SparkPost substitute them in the
message itself, so one API call carries a whole batch; Postmark and Amazon SES
substitute them only in templates stored at the provider, so the newsletter goes
one message per recipient. Batch mode also needs `merge_headers` (each person's
own List-Unsubscribe), which anymail's Mandrill backend lacks, so Mandrill goes
one message per recipient too. The defaults below follow each provider's
documented limits; the NEWSLETTER_* settings override them.

Also what its connection needs. What each provider's errors mean for the
messages in a failed call (`classify`) is read in home/mail_providers.py, for
every app that sends; everything else provider-specific about sending lives
here; see docs/sending.md.
"""

import inspect
import logging
import sys
from contextlib import suppress
from dataclasses import dataclass, replace

from anymail.backends.base import AnymailBaseBackend, BasePayload
from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.utils.module_loading import import_string

from home.mail_providers import Failure, classify

from ..models import SendMode
from .ledger import clip

logger = logging.getLogger(__name__)


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


def placeholder_format(*, mode: str, profile: ProviderProfile) -> str:
    if mode == SendMode.BATCH:
        return profile.merge_placeholder
    return SINGLE_PLACEHOLDER


# -- What a failed call means ---------------------------------------------------
# Read in one place for every app that sends (home/mail_providers.py).

# Failures that pause the send at once, whatever the error count.
PAUSING = {Failure.CONFIG, Failure.UNREADABLE}


def describe(error: BaseException) -> str:
    """An error's type and text, short enough for a row or a pause reason."""
    try:
        text = str(error)
    except Exception:
        # Some exceptions cannot describe themselves; their type still helps.
        text = repr(error.args)
    status = getattr(error, "status_code", None)
    # The answer's status first: the rest may be cut to fit.
    prefix = f"HTTP {status} " if isinstance(status, int) else ""
    return clip(f"{prefix}{type(error).__name__}: {text}")


# -- Connections ---------------------------------------------------------------


def connection_options(backend: str) -> dict:
    """What the newsletter's connection to `backend` needs beyond the settings.

    boto3 resends a SendEmail that timed out or got a 5xx, up to five times by
    default, before anymail hears of it: a message Amazon SES may have taken
    would go again. The ledger decides what is retried, so one attempt each.
    """
    if "amazon_ses" not in backend:
        return {}
    anymail = getattr(settings, "ANYMAIL", {})
    client_params = dict(anymail.get("AMAZON_SES_CLIENT_PARAMS") or {})
    config = client_params.get("config") or {}
    once = {"retries": {"total_max_attempts": 1}}
    if isinstance(config, dict):
        config = {**config, **once}
    else:
        # A botocore Config of the site's own: ours wins where they differ.
        config = config.merge(type(config)(**once))
    return {"client_params": {**client_params, "config": config}}


def reconnect(connection, failure: Failure) -> None:
    """After an SMTP error, drop a connection that may be dead or out of step.

    Django's SMTP backend keeps its `smtplib.SMTP` after a 421 or a disconnect,
    closed underneath, and every later message would fail on it. A plain
    refusal of one address leaves the session as it was.
    """
    if not isinstance(connection, SMTPBackend):
        return
    alive = getattr(connection.connection, "sock", None) is not None
    if alive and failure is Failure.REFUSED:
        return
    # Closing a dead connection may fail: it is gone either way.
    with suppress(Exception):
        connection.close()
    connection.connection = None
    try:
        connection.open()
    except Exception:
        # The next send_messages opens it again, or fails and is counted.
        logger.warning("Could not reconnect to the SMTP server", exc_info=True)


def reopen(connection) -> tuple[Failure, str] | None:
    """Open an SMTP connection `reconnect` dropped; the failure if it cannot be.

    A failure to connect again sent nothing, whatever the error.
    """
    if not isinstance(connection, SMTPBackend) or connection.connection is not None:
        return None
    try:
        connection.open()
    except Exception as error:
        failure = classify(error)
        return (Failure.RETRY if failure is Failure.UNCERTAIN else failure), describe(
            error
        )
    return None
