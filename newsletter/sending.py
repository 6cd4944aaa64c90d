"""The sending pipeline: claim a batch, hand it to the provider, record what happened.

Every step that matters is its own short transaction, committed before the next:

1. claim: `queued → claimed` for up to a batch of rows (SKIP LOCKED on
   PostgreSQL, so workers never wait for each other; SQLite's IMMEDIATE
   transactions serialise them), with a claim token. People unsubscribed or
   suppressed since the send started are `skipped` here, before every batch
   (and in single mode again before every chunk).
2. `claimed → sending`, just before the provider call, and only while the send
   is still sending; the lease starts again here. Only rows this worker still
   holds under its token move, so a row given back after a lease expired, or by
   a pause or a cancel, is never sent by the worker that lost it.
3. the provider call, outside any transaction.
4. record, per recipient, right after each call: `sent` (with the provider's
   message id), `failed` (the provider refused that address), back to `queued`
   when the provider provably took nothing (a refused connection, a 429 or 503
   answer, or an error about our account or the message as a whole, which also
   pauses the send; `skipped` if the send was cancelled meanwhile), or
   `uncertain` when it may have taken it (a timeout, a dropped connection, a
   500, 502 or 504, an answer we could not read).

A worker that dies leaves `claimed` rows (never handed over: given back to the
queue once the lease passes) and `sending` rows (perhaps handed over: marked
`uncertain`, never resent without a person deciding). Resuming sends only
`queued` rows, so nobody gets two copies. Nothing automatic ever makes a row
that the provider provably did not take `failed`: repeated failures pause the
send instead, and staff resume it.
"""

import enum
import logging
import os
import re
import secrets
import smtplib
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import requests
import urllib3
from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailUnsupportedFeature,
)
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import connection, transaction
from django.db.models import Exists, F, FloatField, Min, OuterRef, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from . import providers, rendering
from .models import (
    Delivery,
    DeliveryState,
    IssueSend,
    SendMode,
    SendStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from .models.sending import CANCELLED_DETAIL, IN_FLIGHT_STATES, OPEN_STATES

logger = logging.getLogger(__name__)

ACCEPTED = {"sent", "queued", "scheduled"}
REFUSED_STATUSES = {"rejected", "invalid", "failed"}
DETAIL_LENGTH = 255


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


@dataclass(frozen=True)
class Recipient:
    """One claimed ledger row with what a message to it needs."""

    delivery_id: int
    subscriber_id: int
    email: str
    name: str


@dataclass(frozen=True)
class Outcome:
    """What became of one recipient after a provider call."""

    state: str
    message_id: str = ""
    esp_status: str = ""
    detail: str = ""
    # False for a row going back to the queue that no provider call counts
    # against: never handed over, or refused for a reason that is not its own.
    attempted: bool = True


# Never handed to the provider (a stopped batch, a pause): back to the queue.
UNTOUCHED = Outcome(DeliveryState.QUEUED, attempted=False)


class WorkResult(enum.Enum):
    """Why a worker stopped looping over batches."""

    FINISHED = "finished"
    STOPPED = "stopped"  # paused, cancelled, or not started
    MORE = "more"  # out of time; queue another task
    WAITING = "waiting"  # nothing queued, but other workers hold rows


# Tests set this to make a worker die at a chosen point, as a kill would.
crash_hook: Callable[[str], None] | None = None


def _checkpoint(name: str) -> None:
    if crash_hook is not None:
        crash_hook(name)


def _clip(text: str) -> str:
    return " ".join(str(text).split())[:DETAIL_LENGTH]


# -- Throttle, claims and records ---------------------------------------------


def reserve_slot(*, send_id: int, count: int, per_second: float) -> float:
    """Book time for `count` messages on the send's shared clock; seconds to wait.

    The clock lives on the send's row, so the limit holds across every worker
    on every machine: each batch moves it on by count / per_second.
    """
    if per_second <= 0:
        return 0.0
    span = count / per_second
    with transaction.atomic():
        IssueSend.objects.filter(pk=send_id).update(
            throttle_until=Greatest(
                F("throttle_until"), Value(time.time(), output_field=FloatField())
            )
            + span
        )
        # The row stays locked by our update until the commit, so this reads
        # our own booking, not someone else's.
        until = (
            IssueSend.objects.filter(pk=send_id)
            .values_list("throttle_until", flat=True)
            .get()
        )
    return max(0.0, until - span - time.time())


def _subscribed(send: IssueSend) -> Exists:
    return Exists(
        Subscription.objects.filter(
            subscriber_id=OuterRef("subscriber_id"),
            mailing_list_id=send.mailing_list_id,
            status=SubscriptionStatus.CONFIRMED,
        )
    )


def _suppressed() -> Exists:
    return Exists(
        Suppression.objects.filter(email_hash=OuterRef("subscriber__email_hash"))
    )


def _departed(send: IssueSend) -> Q:
    """Rows whose person may no longer be mailed: left the list, suppressed, erased."""
    return Q(subscriber__isnull=True) | ~_subscribed(send) | _suppressed()


DEPARTED_DETAIL = "Unsubscribed, suppressed or erased before their batch."


def claim(*, send: IssueSend, size: int) -> tuple[str, list[Recipient]]:
    """Take up to `size` queued rows for this worker; skip people who left since."""
    token = secrets.token_hex(16)
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(send_id=send.pk, state=DeliveryState.QUEUED)
            # Rows the provider has put off (an address greylisted, a mailbox
            # full) go to the back, so they never hold up everyone else.
            .order_by("attempts", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:size]
        )
        if not ids:
            return token, []
        Delivery.objects.filter(id__in=ids).update(
            state=DeliveryState.CLAIMED, claim_token=token, claimed_at=now
        )
        rows = (
            Delivery.objects.filter(claim_token=token)
            .annotate(subscribed=_subscribed(send), suppressed=_suppressed())
            .order_by("id")
            .values_list(
                "id",
                "subscriber_id",
                "subscriber__email",
                "subscriber__name",
                "subscribed",
                "suppressed",
            )
        )
        recipients, skipped = [], []
        for delivery_id, subscriber_id, email, name, subscribed, suppressed in rows:
            if subscriber_id is None or not subscribed or suppressed:
                skipped.append(delivery_id)
            else:
                recipients.append(Recipient(delivery_id, subscriber_id, email, name))
        if skipped:
            Delivery.objects.filter(id__in=skipped).update(
                state=DeliveryState.SKIPPED, detail=DEPARTED_DETAIL
            )
    return token, recipients


def mark_sending(
    *,
    send: IssueSend,
    token: str,
    recipients: Sequence[Recipient],
    recheck: bool = False,
) -> list[Recipient]:
    """Move rows this worker still holds to `sending`; returns the ones it moved.

    Nothing moves unless the send is still sending: a pause or a cancel that
    committed first stops rows a worker had already claimed. With `recheck`,
    people who left since the claim are skipped first (single mode, whose
    batches take a while).
    """
    ids = [recipient.delivery_id for recipient in recipients]
    held = Delivery.objects.filter(
        id__in=ids, claim_token=token, state=DeliveryState.CLAIMED
    )
    if recheck:
        held.filter(_departed(send)).update(
            state=DeliveryState.SKIPPED, detail=DEPARTED_DETAIL
        )
    # One statement, so atomic on its own. The lease starts again at the
    # hand-over: a slow batch is not taken for a dead one.
    moved = held.filter(
        Exists(IssueSend.objects.filter(pk=send.pk, status=SendStatus.SENDING))
    ).update(state=DeliveryState.SENDING, claimed_at=timezone.now())
    return _still_sending(token=token, recipients=recipients, moved=moved)


def _still_sending(
    *, token: str, recipients: Sequence[Recipient], moved: int
) -> list[Recipient]:
    """The recipients whose rows are `sending` under `token`, after an update of
    `moved` of them; read again only when some did not move."""
    if moved == len(recipients):
        return list(recipients)
    mine = set(
        Delivery.objects.filter(
            id__in=[recipient.delivery_id for recipient in recipients],
            claim_token=token,
            state=DeliveryState.SENDING,
        ).values_list("id", flat=True)
    )
    return [recipient for recipient in recipients if recipient.delivery_id in mine]


def release(*, token: str, recipients: Sequence[Recipient]) -> int:
    """Give claimed rows this worker will not send back to the queue."""
    return Delivery.objects.filter(
        id__in=[recipient.delivery_id for recipient in recipients],
        claim_token=token,
        state=DeliveryState.CLAIMED,
    ).update(state=DeliveryState.QUEUED, claim_token="", claimed_at=None)


def record(*, token: str, outcomes: dict[int, Outcome]) -> None:
    """Write each recipient's outcome, in one transaction, for rows under `token`."""
    if not outcomes:
        return
    now = timezone.now()
    groups: dict[tuple[str, str, str, bool], list[tuple[int, str]]] = defaultdict(list)
    for delivery_id, outcome in outcomes.items():
        key = (
            outcome.state,
            outcome.esp_status,
            _clip(outcome.detail),
            outcome.attempted,
        )
        groups[key].append((delivery_id, str(outcome.message_id or "")[:255]))
    # A lone group (the usual case: everyone sent) is one statement, atomic on
    # its own; several groups commit together.
    atomic = transaction.atomic() if len(groups) > 1 else nullcontext()
    with atomic:
        for (state, esp_status, detail, attempted), items in groups.items():
            rows = Delivery.objects.filter(
                id__in=[delivery_id for delivery_id, _ in items],
                claim_token=token,
                state__in=[DeliveryState.SENDING, DeliveryState.UNCERTAIN],
            )
            if state == DeliveryState.QUEUED:
                _requeue(rows, detail=detail, attempted=attempted)
                continue
            message_ids = {message_id for _, message_id in items}
            if len(message_ids) == 1:
                rows.update(
                    state=state,
                    esp_message_id=message_ids.pop(),
                    esp_status=esp_status,
                    detail=detail,
                    sent_at=now if state == DeliveryState.SENT else None,
                )
            else:
                _update_each(
                    token=token,
                    items=items,
                    state=state,
                    esp_status=esp_status,
                    detail=detail,
                    sent_at=now if state == DeliveryState.SENT else None,
                )


def _requeue(rows, *, detail: str, attempted: bool) -> None:
    """Give back rows the provider provably did not take.

    Never `failed` for that: a long outage pauses the send (the error count)
    rather than lose people. Only rows still `sending` go back: one another
    worker has since marked uncertain waits for staff, and a send that was
    cancelled meanwhile skips them, as it skipped the rest of its queue.
    """
    rows = rows.filter(state=DeliveryState.SENDING)
    changes = {"claim_token": "", "claimed_at": None}
    if attempted:
        changes.update(attempts=F("attempts") + 1, detail=detail)
    rows.filter(send__status=SendStatus.CANCELLED).update(
        state=DeliveryState.SKIPPED, **{**changes, "detail": CANCELLED_DETAIL}
    )
    rows.update(state=DeliveryState.QUEUED, **changes)


def _update_each(
    *, token: str, items: list[tuple[int, str]], state: str, esp_status: str, **rest
) -> None:
    """One UPDATE ... FROM (VALUES ...) for rows that each get their own message id.

    The ORM's Case/When costs more Python per row than the provider call it
    records (single mode: one message id per recipient).
    """
    table = connection.ops.quote_name(Delivery._meta.db_table)
    values = ", ".join(["(%s, %s)"] * len(items))
    params: list = []
    for delivery_id, message_id in items:
        params.extend([delivery_id, message_id])
    params.extend([state, esp_status, rest["detail"], rest["sent_at"]])
    params.extend([token, DeliveryState.SENDING, DeliveryState.UNCERTAIN])
    # Only the quoted table name is interpolated; every value is bound.
    sql = (
        f"WITH batch (delivery_id, message_id) AS (VALUES {values}) "  # noqa: S608
        f"UPDATE {table} SET state = %s, esp_status = %s, detail = %s, "
        "sent_at = %s, esp_message_id = batch.message_id FROM batch "
        f"WHERE {table}.id = batch.delivery_id AND {table}.claim_token = %s "
        f"AND {table}.state IN (%s, %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def expire_stale_claims(*, send_id: int) -> None:
    """Settle rows whose worker has been silent longer than the claim lease."""
    cutoff = timezone.now() - timedelta(seconds=settings.NEWSLETTER_CLAIM_LEASE)
    stale = Delivery.objects.filter(send_id=send_id, claimed_at__lt=cutoff)
    # Claimed but never handed to the provider: safe to queue again.
    stale.filter(state=DeliveryState.CLAIMED).update(
        state=DeliveryState.QUEUED, claim_token="", claimed_at=None
    )
    stale.filter(state=DeliveryState.SENDING).update(
        state=DeliveryState.UNCERTAIN,
        detail="The worker stopped during the provider call: it may have been "
        "sent. Not resent automatically.",
    )


def finish_if_done(*, send_id: int) -> bool:
    """Mark the send finished once no row is queued or in flight."""
    expire_stale_claims(send_id=send_id)
    if Delivery.objects.filter(send_id=send_id, state__in=OPEN_STATES).exists():
        return False
    IssueSend.objects.filter(pk=send_id, status=SendStatus.SENDING).update(
        status=SendStatus.FINISHED, finished_at=timezone.now()
    )
    return True


def oldest_claim_expiry(*, send_id: int):
    """When the oldest in-flight claim of a send passes its lease, if any."""
    oldest = Delivery.objects.filter(
        send_id=send_id, state__in=IN_FLIGHT_STATES
    ).aggregate(oldest=Min("claimed_at"))["oldest"]
    if oldest is None:
        return None
    return oldest + timedelta(seconds=settings.NEWSLETTER_CLAIM_LEASE + 1)


# -- Building messages ----------------------------------------------------------


def common_headers(send: IssueSend) -> dict[str, str]:
    host = urlsplit(settings.BASE_URL).hostname or "localhost"
    return {
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{send.list_name} <list-{send.mailing_list_id}.{host}>",
    }


def batch_message(*, send: IssueSend, recipients: Sequence[Recipient]):
    """One message for a whole batch: the provider fills in each person's parts."""
    profile = providers.profile_for(send.email_backend)
    message = EmailMultiAlternatives(
        subject=send.subject,
        body=send.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email for recipient in recipients],
        headers=common_headers(send),
    )
    message.attach_alternative(send.html, "text/html")
    merge_data, merge_metadata, merge_headers = {}, {}, {}
    for recipient in recipients:
        values = rendering.personal_values(
            subscriber_id=recipient.subscriber_id,
            name=recipient.name,
            list_id=send.mailing_list_id,
            delivery_id=recipient.delivery_id,
        )
        merge_data[recipient.email] = {
            profile.merge_key.format(name): value for name, value in values.items()
        }
        merge_metadata[recipient.email] = {"delivery": str(recipient.delivery_id)}
        merge_headers[recipient.email] = {
            "List-Unsubscribe": f"<{values['unsubscribe_url']}>"
        }
    message.merge_data = merge_data
    message.merge_metadata = merge_metadata
    message.merge_headers = merge_headers
    message.metadata = {"send": str(send.pk)}
    message.tags = ["newsletter"]
    return message


class SingleMessages:
    """One message per recipient, its links written into the frozen email."""

    def __init__(self, send: IssueSend):
        self.send = send
        self.html = rendering.PersonalTemplate(send.html, providers.SINGLE_PLACEHOLDER)
        self.text = rendering.PersonalTemplate(send.text, providers.SINGLE_PLACEHOLDER)
        self.headers = common_headers(send)

    def build(self, recipient: Recipient) -> EmailMultiAlternatives:
        values = rendering.personal_values(
            subscriber_id=recipient.subscriber_id,
            name=recipient.name,
            list_id=self.send.mailing_list_id,
            delivery_id=recipient.delivery_id,
        )
        message = EmailMultiAlternatives(
            subject=self.send.subject,
            body=self.text.fill(values),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[recipient.email],
            headers={
                **self.headers,
                "List-Unsubscribe": f"<{values['unsubscribe_url']}>",
            },
        )
        message.attach_alternative(self.html.fill(values), "text/html")
        message.metadata = {
            "send": str(self.send.pk),
            "delivery": str(recipient.delivery_id),
        }
        message.tags = ["newsletter"]
        return message


# -- Provider calls ---------------------------------------------------------------

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
    return _clip(f"{prefix}{type(error).__name__}: {text}")


def _statuses(message) -> dict[str, Outcome]:
    status = getattr(message, "anymail_status", None)
    outcomes: dict[str, Outcome] = {}
    for email, recipient_status in (status.recipients if status else {}).items():
        if recipient_status.status in ACCEPTED:
            state = DeliveryState.SENT
        elif recipient_status.status in REFUSED_STATUSES:
            state = DeliveryState.FAILED
        else:
            state = (
                DeliveryState.SENT
                if recipient_status.message_id is not None
                else DeliveryState.UNCERTAIN
            )
        outcomes[email.lower()] = Outcome(
            state=state,
            message_id=""
            if recipient_status.message_id is None
            else str(recipient_status.message_id),
            esp_status=str(recipient_status.status or ""),
            detail=""
            if state == DeliveryState.SENT
            else f"The provider answered '{recipient_status.status}'.",
        )
    return outcomes


def call_provider(
    connection, message, recipients: Sequence[Recipient]
) -> tuple[dict[int, Outcome], Failure | None, str]:
    """Send one message (of one or many recipients); the outcome of each.

    Also returns the kind of failure, if the call failed as a whole, and its text.
    """
    try:
        connection.send_messages([message])
    except AnymailRecipientsRefused:
        # Every recipient refused (the provider's own suppression list):
        # anymail still tells us who, with what status.
        refused = Outcome(DeliveryState.FAILED, detail="Refused by the provider.")
        return _per_recipient(_statuses(message), recipients, missing=refused), None, ""
    except Exception as error:
        return {}, classify(error, recipients), describe(error)
    statuses = _statuses(message)
    if statuses:
        missing = Outcome(DeliveryState.UNCERTAIN, detail="No status for this address.")
    else:
        # Django's own backends (SMTP, console, locmem) raise or succeed whole.
        missing = Outcome(DeliveryState.SENT)
    return _per_recipient(statuses, recipients, missing=missing), None, ""


def _per_recipient(
    statuses: dict[str, Outcome], recipients: Sequence[Recipient], *, missing: Outcome
) -> dict[int, Outcome]:
    """Each recipient's outcome as the provider reported it, or `missing`."""
    return {
        recipient.delivery_id: statuses.get(recipient.email.lower(), missing)
        for recipient in recipients
    }


def _failed_outcome(failure: Failure, detail: str) -> Outcome:
    if failure is Failure.RETRY:
        return Outcome(DeliveryState.QUEUED, detail=detail)
    if failure is Failure.CONFIG:
        # Not these people's doing, and nothing was sent: back untouched.
        return UNTOUCHED
    if failure is Failure.REFUSED:
        return Outcome(DeliveryState.FAILED, detail=detail)
    return Outcome(DeliveryState.UNCERTAIN, detail=detail)


@dataclass
class CallReport:
    """What a batch's calls came to, for the worker's bookkeeping."""

    errors: int = 0  # calls that failed as a whole, refusals aside
    accepted: int = 0  # recipients the provider took
    refused: int = 0  # recipients the provider refused
    pause_reason: str = ""
    last_error: str = ""

    @property
    def failures(self) -> int:
        """What counts toward the error pause.

        Refusals count only while the provider has taken nobody: one bad
        address among good ones is that address's problem, but a provider that
        refuses everyone is refusing us.
        """
        return self.errors + (self.refused if not self.accepted else 0)

    def note_outcomes(self, outcomes: dict[int, Outcome]) -> None:
        for outcome in outcomes.values():
            if outcome.state == DeliveryState.SENT:
                self.accepted += 1
            elif outcome.state == DeliveryState.FAILED:
                self.refused += 1

    def note_failure(self, failure: Failure, detail: str) -> None:
        self.last_error = detail
        if failure is Failure.REFUSED:
            self.refused += 1
            return
        self.errors += 1
        if failure is Failure.CONFIG:
            self.pause_reason = f"The provider refused our request: {detail}"
        elif failure is Failure.UNREADABLE:
            self.pause_reason = (
                "The provider answered in a way we could not read; those "
                f"recipients are uncertain. {detail}"
            )


class _Stopped(Exception):
    """The send was paused or cancelled between two calls of one batch."""


def _renew(*, send: IssueSend, token: str, group: list[Recipient]) -> list[Recipient]:
    """Before another call of a batch: the rows still ours, their lease renewed.

    Raises `_Stopped` when the send no longer sends. A row another worker took
    for dead meanwhile (now `uncertain`) is left for staff to decide on.
    """
    if not IssueSend.objects.filter(pk=send.pk, status=SendStatus.SENDING).exists():
        raise _Stopped
    held = Delivery.objects.filter(
        id__in=[recipient.delivery_id for recipient in group],
        claim_token=token,
        state=DeliveryState.SENDING,
    )
    moved = held.update(claimed_at=timezone.now())
    return _still_sending(token=token, recipients=group, moved=moved)


def deliver_batch(
    *, send: IssueSend, connection, token: str, recipients: Sequence[Recipient]
) -> CallReport:
    """Batch mode: one call for the batch; a refused batch is split to find why.

    Each call's outcome is written as soon as it is known, so a worker that dies
    while splitting leaves only the rows still being split uncertain. Between
    calls the send's status is read again: a pause or a cancel stops the split.
    """
    report = CallReport()
    if not recipients:
        return report
    # Rows with no outcome written yet. Every call that could have sent them
    # writes one, so any left at the end were provably not sent.
    unsettled = {recipient.delivery_id for recipient in recipients}
    # Once the provider takes part of this batch, the message itself is fine
    # and a refusal is about an address.
    proven = False
    calls = 0

    def write(outcomes: dict[int, Outcome]) -> None:
        record(token=token, outcomes=outcomes)
        unsettled.difference_update(outcomes)

    def call(group: list[Recipient]) -> tuple[Failure | None, str]:
        nonlocal proven, calls
        if calls:
            group = _renew(send=send, token=token, group=group)
            if not group:
                return None, ""
        calls += 1
        try:
            message = batch_message(send=send, recipients=group)
        except Exception as error:
            # Nothing left this machine; the message, not anyone in it.
            logger.exception("Could not build a batch of send %s", send.pk)
            report.note_failure(Failure.CONFIG, describe(error))
            return Failure.CONFIG, describe(error)
        _checkpoint("before_call")
        outcomes, failure, detail = call_provider(connection, message, group)
        _checkpoint("after_call")
        if failure is None:
            report.note_outcomes(outcomes)
            proven = proven or report.accepted > 0
            write(outcomes)
        elif failure is not Failure.REFUSED:
            report.note_failure(failure, detail)
            outcome = _failed_outcome(failure, detail)
            write({recipient.delivery_id: outcome for recipient in group})
        return failure, detail

    def refuse(recipient: Recipient, detail: str) -> None:
        report.note_failure(Failure.REFUSED, detail)
        write({recipient.delivery_id: _failed_outcome(Failure.REFUSED, detail)})

    # Groups to send (no refusal yet) and groups the provider refused as a
    # whole, with its answer, that still need splitting; last in, first out.
    pending: list[tuple[list[Recipient], str | None]] = [(list(recipients), None)]
    with suppress(_Stopped):
        while pending and not report.pause_reason:
            group, refusal = pending.pop()
            if refusal is None:
                failure, refusal = call(group)
                if failure is not Failure.REFUSED:
                    continue
            if len(group) == 1:
                refuse(group[0], refusal)
                continue
            # Anymail raises for the whole batch when the provider refuses one
            # address (Mailgun answers 400): nothing was sent, so halve and
            # try again until the refused address stands alone.
            middle = len(group) // 2
            halves = (group[:middle], group[middle:])
            answers = []
            for half in halves:
                if report.pause_reason:
                    break
                answers.append(call(half))
            if report.pause_reason:
                break
            refused = [
                (half, detail)
                for half, (failure, detail) in zip(halves, answers, strict=True)
                if failure is Failure.REFUSED
            ]
            if len(refused) == 2 and refused[0][1] == refused[1][1] and not proven:
                refused = _probe(refused, call=call, refuse=refuse, report=report)
                if refused is None:
                    break
            pending.extend(refused)
    if unsettled:
        # Never called, or refused whole while the send stopped: not sent.
        write(dict.fromkeys(unsettled, UNTOUCHED))
    return report


def _probe(refused, *, call, refuse, report: CallReport):
    """Both halves of a batch were refused alike: the message, or an address each?

    One recipient from each half, on their own, tells: two bad addresses just
    there, refused in the same words, would be a rare coincidence. If both are
    refused alike the message is at fault and the send pauses (returns None);
    otherwise returns what is still to send or split.
    """
    (first, same), (second, _) = refused
    answers = []
    for half in (first, second):
        if report.pause_reason:
            return None
        # A half of one was already sent on its own.
        answers.append(call(half[:1]) if len(half) > 1 else (Failure.REFUSED, same))
    if report.pause_reason:
        return None
    if all(
        failure is Failure.REFUSED and detail == same for failure, detail in answers
    ):
        report.note_failure(
            Failure.CONFIG,
            "every part of a batch was refused alike, so it is the message, "
            f"not an address: {same}",
        )
        return None
    remaining: list[tuple[list[Recipient], str | None]] = []
    for half, (failure, detail) in zip((first, second), answers, strict=True):
        if failure is Failure.REFUSED:
            refuse(half[0], detail)
            # The refused address may have been the only one: send the rest.
            remaining.append((half[1:], None))
        else:
            # The one we tried went through: the refusal is among the rest.
            remaining.append((half[1:], same))
    return [(group, refusal) for group, refusal in remaining if group]


class _NotSent:
    """A message of a stopped chunk that was never handed to the provider."""


NOT_SENT = _NotSent()


def _send_one(connection, message, recipient: Recipient, stop=None):
    """Send one message, unless another message of the batch has paused the send."""
    if stop is not None and stop.is_set():
        return NOT_SENT
    if isinstance(connection, SMTPBackend) and connection.connection is None:
        # Dropped after an error (`_reconnect`): a failure to connect again
        # sent nothing, whatever the error.
        try:
            connection.open()
        except Exception as error:
            failure = classify(error)
            failure = Failure.RETRY if failure is Failure.UNCERTAIN else failure
            return {}, failure, describe(error)
    result = call_provider(connection, message, [recipient])
    if stop is not None and result[1] in PAUSING:
        stop.set()
    return result


def _reconnect(connection, failure: Failure) -> None:
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


def deliver_single(
    *,
    send: IssueSend,
    connection,
    token: str,
    recipients: Sequence[Recipient],
    builder: SingleMessages,
    pool: ThreadPoolExecutor | None,
    chunk_size: int,
    deadline: float,
    allowed_failures: int,
    per_second: float = 0.0,
) -> CallReport:
    """Single mode: a message each, a few at a time over one open connection.

    Rows move to `sending` and get their outcomes a chunk at a time, so a worker
    killed mid-batch leaves at most two chunks uncertain. While one chunk is
    with the provider, the previous one is written down. The batch stops early,
    giving back what it did not send, when the send stops, the task's time is
    up, or its failures reach `allowed_failures`; before each chunk, people who
    left since the claim are skipped. With `per_second`, messages go out evenly
    spaced rather than in a burst.
    """
    report = CallReport()
    in_flight: tuple[list[Recipient], list] | None = None
    started = time.monotonic()
    handed = 0  # messages given to the provider (or the pool) so far
    # Set by the first message whose answer pauses the send, so that messages
    # the pool has not started yet are not sent after it.
    stop = threading.Event()
    # Until the provider takes someone, a refusal may be about us (a relay
    # that refuses everyone) rather than the address.
    proven = Delivery.objects.filter(send_id=send.pk, state=DeliveryState.SENT).exists()

    def settle(chunk: list[Recipient], results: list) -> None:
        nonlocal proven
        # Cancelled before its thread took it: never handed over.
        results = [
            (NOT_SENT if result.cancelled() else result.result())
            if isinstance(result, Future)
            else result
            for result in results
        ]
        proven = proven or any(
            result is not NOT_SENT
            and any(one.state == DeliveryState.SENT for one in result[0].values())
            for result in results
        )
        outcomes: dict[int, Outcome] = {}
        for recipient, result in zip(chunk, results, strict=True):
            if result is NOT_SENT:
                outcomes[recipient.delivery_id] = UNTOUCHED
                continue
            one, failure, detail = result
            if failure is None:
                report.note_outcomes(one)
                outcomes.update(one)
                continue
            report.note_failure(failure, detail)
            if failure is Failure.REFUSED and not proven:
                # Queued again rather than failed; the error count pauses
                # the send if everyone is refused.
                outcome = Outcome(DeliveryState.QUEUED, detail=detail)
            else:
                outcome = _failed_outcome(failure, detail)
            outcomes[recipient.delivery_id] = outcome
        _checkpoint("after_call")
        record(token=token, outcomes=outcomes)

    def must_stop() -> bool:
        return bool(
            report.pause_reason
            or stop.is_set()
            or report.failures >= allowed_failures
            or time.monotonic() > deadline
        )

    def pace() -> None:
        nonlocal handed
        if per_second > 0:
            wait = started + handed / per_second - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        handed += 1

    def send_in_turn(messages, chunk) -> list:
        # One at a time (SMTP): the batch can stop between any two messages.
        results: list = []
        seen = CallReport()  # this chunk so far, before settle() counts it
        for message, recipient in zip(messages, chunk, strict=True):
            failures = report.errors + seen.errors
            if not report.accepted + seen.accepted:
                failures += report.refused + seen.refused
            if must_stop() or seen.pause_reason or failures >= allowed_failures:
                results.append(NOT_SENT)
                continue
            pace()
            result = _send_one(connection, message, recipient)
            outcomes, failure, detail = result
            if failure is None:
                seen.note_outcomes(outcomes)
            else:
                seen.note_failure(failure, detail)
                _reconnect(connection, failure)
            results.append(result)
        return results

    start = 0
    while start < len(recipients):
        if must_stop():
            break
        if (
            IssueSend.objects.filter(pk=send.pk)
            .values_list("status", flat=True)
            .first()
            != SendStatus.SENDING
        ):
            break
        wanted = recipients[start : start + chunk_size]
        start += chunk_size
        # Built first: a message that cannot be built leaves its rows claimed,
        # which are given back, not `sending`, which would become uncertain.
        built = {
            recipient.delivery_id: builder.build(recipient) for recipient in wanted
        }
        chunk = mark_sending(send=send, token=token, recipients=wanted, recheck=True)
        if not chunk:
            continue
        messages = [built[recipient.delivery_id] for recipient in chunk]
        _checkpoint("before_call")
        if pool is None:
            # Already done: write it down before deciding on the next chunk.
            settle(chunk, send_in_turn(messages, chunk))
            continue
        results = []
        for message, recipient in zip(messages, chunk, strict=True):
            pace()
            results.append(pool.submit(_send_one, connection, message, recipient, stop))
        if in_flight is not None:
            settle(*in_flight)
        in_flight = (chunk, results)
    if in_flight is not None:
        if must_stop():
            for result in in_flight[1]:
                if isinstance(result, Future):
                    result.cancel()
        settle(*in_flight)
    # Whatever is still claimed (a stopped batch) was never handed over.
    release(token=token, recipients=recipients)
    return report


# -- The worker loop ----------------------------------------------------------------


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


def _open_connection(send: IssueSend, concurrency: int):
    backend = send.email_backend or settings.EMAIL_BACKEND
    connection = get_connection(backend, **connection_options(backend))
    connection.open()
    session = getattr(connection, "session", None)
    if isinstance(session, requests.Session):
        # One keep-alive pool shared by the sending threads.
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=1, pool_maxsize=max(concurrency, 1)
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _settle_environment(session, getattr(connection, "api_url", ""))
        return connection, True
    return connection, False


def _settle_environment(session: requests.Session, url: str) -> None:
    """Read proxy and CA settings from the environment once, not per request.

    With `trust_env` on, requests walks the whole environment (and looks for a
    .netrc) on every call: a third of the CPU of a small message.
    """
    session.proxies.update(requests.utils.get_environ_proxies(url or "https://x"))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False


def backoff(errors: int) -> None:
    """A failing provider is asked again gently, not hammered."""
    time.sleep(min(2 ** min(errors, 5) * 0.1, 5))


def _note_errors(send_id: int, report: CallReport) -> bool:
    """Count the batch's failures; pause past the threshold. True if paused."""
    now = timezone.now()
    if not report.failures and not report.pause_reason:
        IssueSend.objects.filter(pk=send_id).update(heartbeat_at=now)
        return False
    IssueSend.objects.filter(pk=send_id).update(
        heartbeat_at=now,
        error_count=F("error_count") + report.failures,
        last_error=report.last_error,
    )
    from . import services

    if report.pause_reason:
        services.issue_send_pause(send_id=send_id, reason=report.pause_reason)
        return True
    errors = IssueSend.objects.values_list("error_count", flat=True).get(pk=send_id)
    if errors >= settings.NEWSLETTER_ERROR_PAUSE_THRESHOLD:
        services.issue_send_pause(
            send_id=send_id,
            reason=f"{errors} provider calls failed. Nobody the provider did not "
            "take is lost: they are queued again for when you resume. The last "
            f"error: {report.last_error}",
        )
        return True
    backoff(errors)
    return False


def work(*, send_id: int, seconds: float) -> WorkResult:
    """Claim and deliver batches of one send until it is done or time is up."""
    deadline = time.monotonic() + seconds
    send = IssueSend.objects.filter(pk=send_id).first()
    if send is None or send.status != SendStatus.SENDING:
        return WorkResult.STOPPED
    profile = providers.profile_for(send.email_backend)
    expire_stale_claims(send_id=send_id)
    single = send.mode == SendMode.SINGLE
    try:
        connection, threaded = _open_connection(
            send, settings.NEWSLETTER_SINGLE_CONCURRENCY if single else 1
        )
    except Exception as error:
        # An SMTP server that refuses us now: counted like a failed call.
        report = CallReport()
        report.note_failure(classify(error), describe(error))
        return WorkResult.STOPPED if _note_errors(send_id, report) else WorkResult.MORE
    concurrency = settings.NEWSLETTER_SINGLE_CONCURRENCY if threaded else 1
    pool = ThreadPoolExecutor(concurrency) if single and concurrency > 1 else None
    builder = SingleMessages(send) if single else None
    try:
        while True:
            if time.monotonic() > deadline:
                return WorkResult.MORE
            status, error_count = (
                IssueSend.objects.filter(pk=send_id)
                .values_list("status", "error_count")
                .get()
            )
            if status != SendStatus.SENDING:
                return WorkResult.STOPPED
            wait = reserve_slot(
                send_id=send_id,
                count=send.batch_size,
                per_second=profile.max_per_second,
            )
            if wait:
                time.sleep(wait)
            token, recipients = claim(send=send, size=send.batch_size)
            _checkpoint("claimed")
            if not recipients:
                if Delivery.objects.filter(
                    send_id=send_id, state=DeliveryState.QUEUED
                ).exists():
                    continue  # the whole batch was skipped
                if finish_if_done(send_id=send_id):
                    return WorkResult.FINISHED
                return WorkResult.WAITING
            if single:
                report = deliver_single(
                    send=send,
                    connection=connection,
                    token=token,
                    recipients=recipients,
                    builder=builder,
                    pool=pool,
                    chunk_size=max(concurrency * 8, 16),
                    deadline=deadline,
                    allowed_failures=max(
                        settings.NEWSLETTER_ERROR_PAUSE_THRESHOLD - error_count, 1
                    ),
                    per_second=profile.max_per_second,
                )
            else:
                held = mark_sending(send=send, token=token, recipients=recipients)
                if len(held) < len(recipients):
                    # Paused or cancelled since the claim.
                    release(token=token, recipients=recipients)
                report = deliver_batch(
                    send=send, connection=connection, token=token, recipients=held
                )
            if _note_errors(send_id, report):
                return WorkResult.STOPPED
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        connection.close()
