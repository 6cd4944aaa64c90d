"""What each email provider can carry and what its errors mean: one place.

Everything that differs between Django's SMTP backend and the anymail providers
and that more than one app needs lives here: which backends take a
text/calendar alternative (iMIP, docs/notices.md), and what a failed call says
about whether anything was sent (`classify`), which the newsletter's sender
(docs/sending.md) and the date-change notices both act on. The newsletter's
batching and merge syntax stay in `newsletter/sending/providers.py`.
"""

import enum
import re
import smtplib
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

import requests
import urllib3
from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailUnsupportedFeature,
)

# -- What a backend can carry --------------------------------------------------

# Backends that send the MIME message as Django builds it, or whose API takes
# any alternative part. The other providers' APIs take only a text and an HTML
# body (anymail refuses a third), so there the calendar rides as an attachment
# of type text/calendar with its method, which Gmail and Outlook act on too.
CALENDAR_ALTERNATIVE_BACKENDS = (
    "django.core.mail.backends.",
    "anymail.backends.amazon_ses.",
    "anymail.backends.sendgrid.",
    "anymail.backends.test.",
)


def carries_calendar_alternative(backend: str) -> bool:
    """Whether `backend` can send a text/calendar part inside multipart/alternative."""
    return backend.startswith(CALENDAR_ALTERNATIVE_BACKENDS)


class Recipient(Protocol):
    """Anything with an address: `classify` looks for it in a provider's answer."""

    email: str


@dataclass(frozen=True)
class Address:
    """One recipient of a transactional email, for `classify`."""

    email: str


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
    return _classify_transport(error)


def _classify_transport(error: BaseException) -> Failure:
    """An error below the provider's protocol: did the call get anywhere?"""
    if _never_connected(error) or isinstance(error, smtplib.SMTPConnectError):
        return Failure.RETRY
    if isinstance(error, requests.RequestException | smtplib.SMTPException):
        # An HTTP call that may have reached the provider, an SMTP error of
        # no kind above: it may have been taken.
        return Failure.UNCERTAIN
    if isinstance(error, OSError):
        # A bare socket error (refused, DNS, timeout, TLS) from Django's SMTP
        # backend can only come from opening the connection: once connected,
        # smtplib turns every socket error into SMTPServerDisconnected (read
        # above), so none of the message was written.
        return Failure.RETRY
    return Failure.UNCERTAIN
