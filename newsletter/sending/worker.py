"""The worker loop: claim a batch, deliver it with the send's strategy, repeat.

The worker changes no send's status. It returns a `Verdict`, what should happen
next (finish the send, pause it and why, queue another task), and its caller,
`newsletter.services.issue_send_work`, acts on it. See docs/sending.md.
"""

import enum
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.mail import get_connection
from django.db.models import F
from django.utils import timezone

from ..models import IssueSend, SendMode, SendStatus
from . import ledger, providers
from .batch import BatchDelivery
from .calls import CallReport, Checkpoint, no_checkpoint
from .clock import SYSTEM_CLOCK, Clock
from .messages import SingleMessages
from .single import SingleDelivery


class WorkResult(enum.Enum):
    """Why a worker stopped looping over batches."""

    FINISHED = "finished"  # every row is settled: the send is done
    STOPPED = "stopped"  # paused, cancelled, or not started
    MORE = "more"  # out of time; queue another task
    WAITING = "waiting"  # nothing queued, but other workers hold rows
    ERROR = "error"  # stopped on an unexpected error; the send is paused


@dataclass(frozen=True)
class Verdict:
    """What a worker's run came to: its result, and why the send must pause."""

    result: WorkResult
    pause_reason: str = ""


def work(
    *,
    send_id: int,
    seconds: float,
    checkpoint: Checkpoint = no_checkpoint,
    clock: Clock = SYSTEM_CLOCK,
) -> Verdict:
    """Claim and deliver batches of one send until it is done or time is up."""
    deadline = clock.monotonic() + seconds
    send = IssueSend.objects.filter(pk=send_id).first()
    if send is None or send.status != SendStatus.SENDING:
        return Verdict(WorkResult.STOPPED)
    ledger.expire_stale_claims(send_id=send_id)
    single = send.mode == SendMode.SINGLE
    try:
        connection, threaded = open_connection(
            send, settings.NEWSLETTER_SINGLE_CONCURRENCY if single else 1
        )
    except Exception as error:
        # An SMTP server that refuses us now: counted like a failed call.
        report = CallReport()
        report.note_failure(providers.classify(error), providers.describe(error))
        return _after_batch(send_id, report, clock) or Verdict(WorkResult.MORE)
    concurrency = settings.NEWSLETTER_SINGLE_CONCURRENCY if threaded else 1
    pool = ThreadPoolExecutor(concurrency) if single and concurrency > 1 else None
    try:
        return _loop(
            send,
            connection=connection,
            pool=pool,
            concurrency=concurrency,
            deadline=deadline,
            checkpoint=checkpoint,
            clock=clock,
        )
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        connection.close()


def _loop(
    send: IssueSend,
    *,
    connection,
    pool: ThreadPoolExecutor | None,
    concurrency: int,
    deadline: float,
    checkpoint: Checkpoint,
    clock: Clock,
) -> Verdict:
    profile = providers.profile_for(send.email_backend)
    builder = SingleMessages(send) if send.mode == SendMode.SINGLE else None
    while True:
        if clock.monotonic() > deadline:
            return Verdict(WorkResult.MORE)
        status, error_count = (
            IssueSend.objects.filter(pk=send.pk)
            .values_list("status", "error_count")
            .get()
        )
        if status != SendStatus.SENDING:
            return Verdict(WorkResult.STOPPED)
        wait = ledger.reserve_slot(
            send_id=send.pk, count=send.batch_size, per_second=profile.max_per_second
        )
        if wait:
            clock.sleep(wait)
        token, recipients = ledger.claim(send=send, size=send.batch_size)
        checkpoint("claimed")
        if not recipients:
            if ledger.has_queued(send_id=send.pk):
                continue  # the whole batch was skipped
            if ledger.is_settled(send_id=send.pk):
                return Verdict(WorkResult.FINISHED)
            return Verdict(WorkResult.WAITING)
        if builder is not None:
            report = SingleDelivery(
                send=send,
                connection=connection,
                token=token,
                builder=builder,
                pool=pool,
                chunk_size=max(concurrency * 8, 16),
                deadline=deadline,
                allowed_failures=max(
                    settings.NEWSLETTER_ERROR_PAUSE_THRESHOLD - error_count, 1
                ),
                per_second=profile.max_per_second,
                checkpoint=checkpoint,
                clock=clock,
            ).deliver(recipients)
        else:
            held = ledger.mark_sending(send=send, token=token, recipients=recipients)
            if len(held) < len(recipients):
                # Paused or cancelled since the claim.
                ledger.release(token=token, recipients=recipients)
            report = BatchDelivery(
                send=send, connection=connection, token=token, checkpoint=checkpoint
            ).deliver(held)
        verdict = _after_batch(send.pk, report, clock)
        if verdict is not None:
            return verdict


def _after_batch(send_id: int, report: CallReport, clock: Clock) -> Verdict | None:
    """Count a batch's failures on the send; a verdict to pause past the threshold."""
    now = timezone.now()
    if not report.failures and not report.pause_reason:
        IssueSend.objects.filter(pk=send_id).update(heartbeat_at=now)
        return None
    IssueSend.objects.filter(pk=send_id).update(
        heartbeat_at=now,
        error_count=F("error_count") + report.failures,
        last_error=report.last_error,
    )
    if report.pause_reason:
        return Verdict(WorkResult.STOPPED, pause_reason=report.pause_reason)
    errors = IssueSend.objects.values_list("error_count", flat=True).get(pk=send_id)
    if errors >= settings.NEWSLETTER_ERROR_PAUSE_THRESHOLD:
        return Verdict(
            WorkResult.STOPPED,
            pause_reason=f"{errors} provider calls failed. Nobody the provider did "
            "not take is lost: they are queued again for when you resume. The "
            f"last error: {report.last_error}",
        )
    # A failing provider is asked again gently, not hammered.
    clock.sleep(min(2 ** min(errors, 5) * 0.1, 5))
    return None


def open_connection(send: IssueSend, concurrency: int):
    """The send's provider connection, opened; and whether threads may share it."""
    backend = send.email_backend or settings.EMAIL_BACKEND
    connection = get_connection(backend, **providers.connection_options(backend))
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
