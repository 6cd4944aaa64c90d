"""The sending pipeline: claim a batch, hand it to the provider, record what happened.

Every step that matters is its own short transaction, committed before the next:

1. claim: `queued → claimed` for up to a batch of rows (SKIP LOCKED on
   PostgreSQL, so workers never wait for each other; SQLite's IMMEDIATE
   transactions serialise them), with a claim token. People unsubscribed or
   suppressed since the send started are `skipped` here, before every batch.
2. `claimed → sending`, just before the provider call. Only rows this worker
   still holds under its token move, so a row given back after a lease expired
   is never sent by the worker that lost it.
3. the provider call, outside any transaction.
4. record, per recipient: `sent` (with the provider's message id), `failed`,
   back to `queued` when the provider provably took nothing (a refused
   connection, a 429 or 5xx answer), or `uncertain` when it may have taken it
   (a timeout, a dropped connection).

A worker that dies leaves `claimed` rows (never handed over: given back to the
queue once the lease passes) and `sending` rows (perhaps handed over: marked
`uncertain`, never resent without a person deciding). Resuming sends only
`queued` rows, so nobody gets two copies.
"""

import enum
import logging
import os
import secrets
import smtplib
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import requests
import urllib3
from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailRecipientsRefused,
    AnymailUnsupportedFeature,
)
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Exists, F, FloatField, Min, OuterRef, Value
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
from .models.sending import IN_FLIGHT_STATES, OPEN_STATES

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
ACCEPTED = {"sent", "queued", "scheduled"}
REFUSED_STATUSES = {"rejected", "invalid", "failed"}
DETAIL_LENGTH = 255


class Failure(enum.Enum):
    """What a failed provider call means for the messages in it."""

    RETRY = "retry"  # provably nothing was taken: queue again
    REFUSED = "refused"  # the provider said no to the request as made
    UNCERTAIN = "uncertain"  # it may have taken them: never resend blindly
    CONFIG = "config"  # our settings are wrong: pause the send


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


def claim(*, send: IssueSend, size: int) -> tuple[str, list[Recipient]]:
    """Take up to `size` queued rows for this worker; skip people who left since."""
    token = secrets.token_hex(16)
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(send_id=send.pk, state=DeliveryState.QUEUED)
            .order_by("id")
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
            .annotate(
                subscribed=Exists(
                    Subscription.objects.filter(
                        subscriber_id=OuterRef("subscriber_id"),
                        mailing_list_id=send.mailing_list_id,
                        status=SubscriptionStatus.CONFIRMED,
                    )
                ),
                suppressed=Exists(
                    Suppression.objects.filter(
                        email_hash=OuterRef("subscriber__email_hash")
                    )
                ),
            )
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
                state=DeliveryState.SKIPPED,
                detail="Unsubscribed, suppressed or erased before their batch.",
            )
    return token, recipients


def mark_sending(*, token: str, recipients: Sequence[Recipient]) -> list[Recipient]:
    """Move rows this worker still holds to `sending`; returns the ones it moved."""
    ids = [recipient.delivery_id for recipient in recipients]
    # One statement, so atomic on its own.
    moved = Delivery.objects.filter(
        id__in=ids, claim_token=token, state=DeliveryState.CLAIMED
    ).update(state=DeliveryState.SENDING)
    if moved == len(ids):
        return list(recipients)
    held = set(
        Delivery.objects.filter(
            id__in=ids, claim_token=token, state=DeliveryState.SENDING
        ).values_list("id", flat=True)
    )
    return [recipient for recipient in recipients if recipient.delivery_id in held]


def record(*, token: str, outcomes: dict[int, Outcome]) -> None:
    """Write each recipient's outcome, in one transaction, for rows under `token`."""
    now = timezone.now()
    groups: dict[tuple[str, str, str], list[tuple[int, str]]] = defaultdict(list)
    for delivery_id, outcome in outcomes.items():
        key = (outcome.state, outcome.esp_status, _clip(outcome.detail))
        groups[key].append((delivery_id, str(outcome.message_id or "")[:255]))
    # A lone group (the usual case: everyone sent) is one statement, atomic on
    # its own; several groups commit together.
    several = len(groups) > 1 or any(key[0] == DeliveryState.QUEUED for key in groups)
    atomic = transaction.atomic() if several else nullcontext()
    with atomic:
        for (state, esp_status, detail), items in groups.items():
            rows = Delivery.objects.filter(
                id__in=[delivery_id for delivery_id, _ in items],
                claim_token=token,
                state__in=[DeliveryState.SENDING, DeliveryState.UNCERTAIN],
            )
            if state == DeliveryState.QUEUED:
                rows.filter(attempts__gte=MAX_ATTEMPTS - 1).update(
                    state=DeliveryState.FAILED,
                    attempts=F("attempts") + 1,
                    detail=_clip(f"Gave up after {MAX_ATTEMPTS} attempts: {detail}"),
                )
                rows.update(
                    state=DeliveryState.QUEUED,
                    claim_token="",
                    claimed_at=None,
                    attempts=F("attempts") + 1,
                    detail=detail,
                )
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


def _never_connected(error: BaseException) -> bool:
    """True when the request provably never reached the provider."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, requests.ConnectionError):
        reason = getattr(error.args[0], "reason", None) if error.args else None
        return isinstance(reason, urllib3.exceptions.NewConnectionError)
    return isinstance(error, ConnectionRefusedError)


def classify(error: BaseException) -> Failure:
    """What a provider call's exception says about whether it sent anything."""
    if isinstance(error, AnymailUnsupportedFeature):
        return Failure.CONFIG
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None)
        if status is not None:
            return Failure.RETRY if status == 429 or status >= 500 else Failure.REFUSED
        cause = error.__cause__
        if cause is not None and _never_connected(cause):
            return Failure.RETRY
        # A timeout, a dropped connection, or an answer we could not read: the
        # provider may well have accepted the messages.
        return Failure.UNCERTAIN
    if isinstance(error, AnymailError):
        # Raised while building the request (an address anymail cannot parse,
        # data it cannot serialise): nothing left this machine.
        return Failure.REFUSED
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return Failure.REFUSED
    if isinstance(error, smtplib.SMTPResponseException):
        return Failure.RETRY if 400 <= error.smtp_code < 500 else Failure.REFUSED
    if isinstance(error, smtplib.SMTPConnectError | ConnectionRefusedError):
        return Failure.RETRY
    if isinstance(error, OSError | socket.timeout | smtplib.SMTPException):
        return Failure.UNCERTAIN
    return Failure.UNCERTAIN


def _describe(error: BaseException) -> str:
    try:
        text = str(error)
    except Exception:
        # Some exceptions cannot describe themselves; their type still helps.
        text = repr(error.args)
    return _clip(f"{type(error).__name__}: {text}")


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
        statuses = _statuses(message)
        return (
            {
                recipient.delivery_id: statuses.get(
                    recipient.email,
                    Outcome(DeliveryState.FAILED, detail="Refused by the provider."),
                )
                for recipient in recipients
            },
            None,
            "",
        )
    except Exception as error:
        return {}, classify(error), _describe(error)
    statuses = _statuses(message)
    if not statuses:
        # Django's own backends (SMTP, console, locmem) raise or succeed whole.
        return (
            {
                recipient.delivery_id: Outcome(DeliveryState.SENT)
                for recipient in recipients
            },
            None,
            "",
        )
    return (
        {
            recipient.delivery_id: statuses.get(
                recipient.email,
                Outcome(DeliveryState.UNCERTAIN, detail="No status for this address."),
            )
            for recipient in recipients
        },
        None,
        "",
    )


def _failed_outcome(failure: Failure, detail: str) -> Outcome:
    if failure is Failure.RETRY or failure is Failure.CONFIG:
        return Outcome(DeliveryState.QUEUED, detail=detail)
    if failure is Failure.REFUSED:
        return Outcome(DeliveryState.FAILED, detail=detail)
    return Outcome(DeliveryState.UNCERTAIN, detail=detail)


@dataclass
class CallReport:
    """What a batch's calls came to, for the worker's bookkeeping."""

    errors: int = 0
    config_error: str = ""
    last_error: str = ""


def deliver_batch(
    *, send: IssueSend, connection, token: str, recipients: Sequence[Recipient]
) -> CallReport:
    """Batch mode: one call for the batch; a refused batch is split to find why."""
    report = CallReport()
    outcomes: dict[int, Outcome] = {}
    pending = [list(recipients)]
    while pending:
        group = pending.pop()
        message = batch_message(send=send, recipients=group)
        _checkpoint("before_call")
        group_outcomes, failure, detail = call_provider(connection, message, group)
        _checkpoint("after_call")
        if failure is Failure.REFUSED and len(group) > 1:
            # Anymail raises for the whole batch when the provider refuses one
            # address (Mailgun answers 400): nothing was sent, so halve and
            # try again until the refused address stands alone.
            middle = len(group) // 2
            pending.extend([group[middle:], group[:middle]])
            continue
        if failure is not None:
            report.errors += failure is not Failure.REFUSED
            report.last_error = detail
            if failure is Failure.CONFIG:
                report.config_error = detail
            outcome = _failed_outcome(failure, detail)
            group_outcomes = {recipient.delivery_id: outcome for recipient in group}
        outcomes.update(group_outcomes)
    record(token=token, outcomes=outcomes)
    return report


def _send_one(connection, message, recipient: Recipient):
    return call_provider(connection, message, [recipient])


def deliver_single(
    *,
    send: IssueSend,
    connection,
    token: str,
    recipients: Sequence[Recipient],
    builder: SingleMessages,
    pool: ThreadPoolExecutor | None,
    chunk_size: int,
) -> CallReport:
    """Single mode: a message each, a few at a time over one open connection.

    Rows move to `sending` and get their outcomes a chunk at a time, so a worker
    killed mid-batch leaves at most two chunks uncertain. While one chunk is
    with the provider, the previous one is written down.
    """
    report = CallReport()
    in_flight: tuple[list[Recipient], list] | None = None

    def settle(chunk: list[Recipient], results: list) -> None:
        outcomes: dict[int, Outcome] = {}
        for recipient, result in zip(chunk, results, strict=True):
            one, failure, detail = result.result() if pool is not None else result
            if failure is not None:
                report.errors += failure is not Failure.REFUSED
                report.last_error = detail
                if failure is Failure.CONFIG:
                    report.config_error = detail
                one = {recipient.delivery_id: _failed_outcome(failure, detail)}
            outcomes.update(one)
        _checkpoint("after_call")
        record(token=token, outcomes=outcomes)

    for start in range(0, len(recipients), chunk_size):
        chunk = mark_sending(
            token=token, recipients=recipients[start : start + chunk_size]
        )
        messages = [builder.build(recipient) for recipient in chunk]
        _checkpoint("before_call")
        if pool is None:
            results = [
                _send_one(connection, message, recipient)
                for message, recipient in zip(messages, chunk, strict=True)
            ]
        else:
            results = [
                pool.submit(_send_one, connection, message, recipient)
                for message, recipient in zip(messages, chunk, strict=True)
            ]
        if in_flight is not None:
            settle(*in_flight)
        in_flight = (chunk, results)
        if report.config_error:
            break
    if in_flight is not None:
        settle(*in_flight)
    return report


# -- The worker loop ----------------------------------------------------------------


def _open_connection(send: IssueSend, concurrency: int):
    connection = get_connection(send.email_backend or None)
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


def _note_errors(send_id: int, report: CallReport) -> bool:
    """Count the batch's failed calls; pause past the threshold. True if paused."""
    now = timezone.now()
    if not report.errors and not report.config_error:
        IssueSend.objects.filter(pk=send_id).update(heartbeat_at=now)
        return False
    IssueSend.objects.filter(pk=send_id).update(
        heartbeat_at=now,
        error_count=F("error_count") + report.errors,
        last_error=report.last_error,
    )
    from . import services

    if report.config_error:
        services.issue_send_pause(
            send_id=send_id, reason=f"Provider settings: {report.config_error}"
        )
        return True
    errors = IssueSend.objects.values_list("error_count", flat=True).get(pk=send_id)
    if errors >= settings.NEWSLETTER_ERROR_PAUSE_THRESHOLD:
        services.issue_send_pause(
            send_id=send_id,
            reason=f"{errors} provider calls failed; the last: {report.last_error}",
        )
        return True
    # A failing provider is asked again gently, not hammered.
    time.sleep(min(2 ** min(errors, 5) * 0.1, 5))
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
    connection, threaded = _open_connection(
        send, settings.NEWSLETTER_SINGLE_CONCURRENCY if single else 1
    )
    concurrency = settings.NEWSLETTER_SINGLE_CONCURRENCY if threaded else 1
    pool = ThreadPoolExecutor(concurrency) if single and concurrency > 1 else None
    builder = SingleMessages(send) if single else None
    try:
        while True:
            if time.monotonic() > deadline:
                return WorkResult.MORE
            status = IssueSend.objects.values_list("status", flat=True).get(pk=send_id)
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
                )
            else:
                recipients = mark_sending(token=token, recipients=recipients)
                report = deliver_batch(
                    send=send, connection=connection, token=token, recipients=recipients
                )
            if _note_errors(send_id, report):
                return WorkResult.STOPPED
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        connection.close()
