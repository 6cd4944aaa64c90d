"""How each email provider takes a newsletter: in batches or one message at a time.

Anymail gives every provider the same `merge_data`, but where the merge fields
may appear differs: Mailgun, SendGrid, Brevo and SparkPost substitute them in the
message itself, so one API call carries a whole batch; Postmark and Amazon SES
substitute them only in templates stored at the provider, so the newsletter goes
one message per recipient. Batch mode also needs `merge_headers` (each person's
own List-Unsubscribe), which anymail's Mandrill backend lacks, so Mandrill goes
one message per recipient too. The defaults below follow each provider's
documented limits; the NEWSLETTER_* settings override them.

Also what each provider's errors mean for the messages in a failed call
(`classify`), and what its connection needs. Everything provider-specific about
sending lives here; see docs/sending.md.
"""

import enum
import inspect
import logging
import re
import smtplib
import socket
import sys
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, replace

import requests
import urllib3
from anymail.backends.base import AnymailBaseBackend, BasePayload
from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailUnsupportedFeature,
)
from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.utils.module_loading import import_string

from ..models import SendMode
from .ledger import Recipient, clip

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


class Failure(enum.Enum):
    """What a failed provider call means for the messages in it."""

    RETRY = "retry"  # provably nothing was taken: queue again
    REFUSED = "refused"  # the provider refused an address in the request
    UNCERTAIN = "uncertain"  # it may have taken them: never resend blindly
    # A success we could not read: the provider most likely has the messages,
    # and the next call would go the same way, so the send pauses.
    UNREADABLE = "unreadable"
    CONFIG = "config"  # our account, key or message is wrong: pause the send


# Failures that pause the send at once, whatever the error count.
PAUSING = {Failure.CONFIG, Failure.UNREADABLE}


# HTTP answers after which the provider provably took nothing and may later:
# too many requests, and a service that says it is down.
RETRY_STATUSES = {429, 503}
# Answers after which it may well have taken the messages: a request timeout
# racing the work, an internal error after it, a gateway that gave up waiting
# or lost the provider's answer (a proxy answers 502 when the server behind
# it closes the connection, perhaps after doing the work).
UNCERTAIN_STATUSES = {408, 500, 502, 504}
# The only answers that can be about one recipient rather than the request.
ADDRESS_STATUSES = {400, 422}

# How providers name a refused recipient when they do not quote the address:
# Mailgun "'to' parameter is not a valid address", Brevo "email is not valid
# in to", SendGrid's field "personalizations.0.to.0.email", Postmark "Invalid
# 'To' address".
RECIPIENT_FIELD = re.compile(
    r"""['"`](?:to|cc|bcc)['"`]
      | \b(?:to|cc|bcc)\s+(?:parameter|address|field|header)
      | \.(?:to|cc|bcc)\b
      | \bin\s+(?:to|cc|bcc)\b
      | \brecipients?\b""",
    re.IGNORECASE | re.VERBOSE,
)
INVALID = re.compile(
    r"invalid|not\s+(?:contain\s+)?(?:an?\s+)?valid|malformed|illegal", re.IGNORECASE
)

# Amazon SES (boto) error codes, which arrive without an HTTP status on the
# anymail error. https://docs.aws.amazon.com/ses/latest/APIReference-V2/CommonErrors.html
AWS_RETRY = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
}
AWS_CONFIG = {
    "AccessDenied",
    "AccessDeniedException",
    "AccountSendingPausedException",
    "AccountSuspendedException",
    "ConfigurationSetDoesNotExist",
    "ConfigurationSetDoesNotExistException",
    "ConfigurationSetSendingPausedException",
    "ExpiredToken",
    "ExpiredTokenException",
    "IncompleteSignature",
    "InvalidClientTokenId",
    "LimitExceededException",
    "MailFromDomainNotVerified",
    "MailFromDomainNotVerifiedException",
    "MissingAuthenticationToken",
    "NotFoundException",
    "SendingPausedException",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
}
AWS_ADDRESS = {"MessageRejected", "BadRequestException", "InvalidParameterValue"}
# botocore's own errors (no answer at all), by class name: botocore is only
# installed with the Amazon SES backend.
NEVER_CONNECTED_NAMES = {"EndpointConnectionError", "ConnectTimeoutError"}


def _causes(error: BaseException):
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        # Only what the error was raised from: its context may be unrelated.
        error = error.__cause__


def _never_connected(error: BaseException) -> bool:
    """True when the request provably never reached the provider."""
    for cause in _causes(error):
        if isinstance(cause, requests.ConnectTimeout | ConnectionRefusedError):
            return True
        if isinstance(cause, requests.ConnectionError):
            reason = getattr(cause.args[0], "reason", None) if cause.args else None
            if isinstance(reason, urllib3.exceptions.NewConnectionError):
                return True
        if type(cause).__name__ in NEVER_CONNECTED_NAMES:
            return True
    return False


def _error_text(error: BaseException) -> str:
    """All an error says, the provider's answer included, for reading, not showing."""
    try:
        text = str(error)
    except Exception:
        text = repr(error.args)
    response = getattr(error, "response", None)
    if isinstance(response, requests.Response):
        # A body that cannot be decoded adds nothing str(error) lacks.
        with suppress(Exception):
            text += "\n" + response.text
    return text


def names_a_recipient(text: str, recipients: Sequence[Recipient]) -> bool:
    """Whether an error is about a recipient, not our account or the whole message.

    It is when it quotes some (not all) of the call's addresses, or names the
    recipient field and calls it invalid.
    """
    lowered = text.lower()
    quoted = sum(1 for recipient in recipients if recipient.email.lower() in lowered)
    if quoted and (quoted < len(recipients) or len(recipients) == 1):
        return True
    return bool(RECIPIENT_FIELD.search(text) and INVALID.search(text))


def _classify_status(
    status: int, error: BaseException, recipients: Sequence[Recipient]
) -> Failure:
    if 200 <= status < 300:
        if "Mailgun Magnificent API" in _error_text(error):
            # Mailgun's answer at a wrong API address: nothing was sent.
            return Failure.CONFIG
        # Mailgun without "Queued", Brevo without a message id, invalid JSON:
        # the provider said yes in a way we cannot read.
        return Failure.UNREADABLE
    if status in RETRY_STATUSES:
        return Failure.RETRY
    if status in UNCERTAIN_STATUSES or status >= 500:
        return Failure.UNCERTAIN
    if status in ADDRESS_STATUSES and names_a_recipient(_error_text(error), recipients):
        return Failure.REFUSED
    # 401, 403, 404, 413, a 400 or 422 about the message itself: our key,
    # account, domain or message is wrong, and every later call would fail
    # the same way. Nothing was sent.
    return Failure.CONFIG


def _classify_aws(
    error: AnymailAPIError, recipients: Sequence[Recipient]
) -> Failure | None:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    details = response.get("Error") or {}
    code = str(details.get("Code") or "")
    message = str(details.get("Message") or "")
    if code in AWS_RETRY:
        # SES v1 reports a spent daily quota as Throttling too; it will not
        # come back within a retry.
        return Failure.CONFIG if "quota" in message.lower() else Failure.RETRY
    if code in AWS_CONFIG:
        return Failure.CONFIG
    if code in AWS_ADDRESS:
        if names_a_recipient(message, recipients):
            return Failure.REFUSED
        return Failure.CONFIG
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    if isinstance(status, int):
        return _classify_status(status, error, recipients)
    return None


def _classify_smtp(
    error: BaseException, recipients: Sequence[Recipient]
) -> Failure | None:
    if isinstance(error, smtplib.SMTPServerDisconnected):
        # smtplib says so before writing anything on a closed connection.
        if "please run connect() first" in str(error):
            return Failure.RETRY
        return Failure.UNCERTAIN
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        # 4xx (421 included) is "not now"; 5xx for each address is final.
        if codes and all(500 <= code < 600 for code in codes):
            return Failure.REFUSED
        return Failure.RETRY
    if isinstance(error, smtplib.SMTPConnectError):
        return Failure.RETRY
    if isinstance(error, smtplib.SMTPResponseException):
        if 400 <= error.smtp_code < 500:
            return Failure.RETRY
        text = error.smtp_error.decode(errors="replace") if error.smtp_error else ""
        if isinstance(error, smtplib.SMTPDataError) and names_a_recipient(
            text, recipients
        ):
            return Failure.REFUSED
        # A refused sender, the message's data, our login: every message
        # would go the same way.
        return Failure.CONFIG
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return Failure.CONFIG
    return None


def classify(error: BaseException, recipients: Sequence[Recipient] = ()) -> Failure:
    """What a provider call's exception says about whether it sent anything."""
    if isinstance(error, AnymailUnsupportedFeature):
        return Failure.CONFIG
    if isinstance(error, AnymailAPIError):
        aws = _classify_aws(error, recipients)
        if aws is not None:
            return aws
        status = getattr(error, "status_code", None)
        if status is not None:
            return _classify_status(status, error, recipients)
        if _never_connected(error):
            return Failure.RETRY
        # A timeout, a dropped connection: the provider may well have
        # accepted the messages.
        return Failure.UNCERTAIN
    if isinstance(error, AnymailInvalidAddress):
        # Raised while building the request, so nothing left this machine; an
        # address of ours or the sender's.
        if names_a_recipient(_error_text(error), recipients):
            return Failure.REFUSED
        return Failure.CONFIG
    if isinstance(error, AnymailError):
        # Data anymail cannot send (serialisation, a missing setting): the
        # message, not an address.
        return Failure.CONFIG
    smtp = _classify_smtp(error, recipients)
    if smtp is not None:
        return smtp
    if _never_connected(error) or isinstance(error, smtplib.SMTPConnectError):
        return Failure.RETRY
    if isinstance(error, OSError | socket.timeout | smtplib.SMTPException):
        return Failure.UNCERTAIN
    return Failure.UNCERTAIN


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
