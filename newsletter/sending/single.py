"""Single mode: a message each, a few at a time over one open connection.

For providers that cannot merge fields into a message (Postmark, Amazon SES,
SMTP): each recipient's links are written into their own copy of the email.
"""

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from django.core.mail import EmailMessage

from ..models import Delivery, DeliveryState, IssueSend, SendStatus
from . import ledger
from .calls import NOT_SENT, CallReport, Checkpoint, failed_outcome, send_one
from .clock import SYSTEM_CLOCK, Clock, Pacer
from .ledger import UNTOUCHED, Outcome, Recipient
from .messages import SingleMessages
from .providers import Failure, reconnect


class SingleDelivery:
    """Deliver one claimed batch a message each, a chunk at a time.

    Rows move to `sending` and get their outcomes a chunk at a time, so a worker
    killed mid-batch leaves at most two chunks uncertain. While one chunk is
    with the provider (in the pool), the previous one is written down. The batch
    stops early, giving back what it did not send, when the send stops, the
    task's time is up, or its failures reach `allowed_failures`; before each
    chunk, people who left since the claim are skipped. With `per_second`,
    messages go out at least 1/per_second apart rather than in a burst.
    """

    def __init__(
        self,
        *,
        send: IssueSend,
        connection,
        token: str,
        builder: SingleMessages,
        pool: ThreadPoolExecutor | None,
        chunk_size: int,
        deadline: float,
        allowed_failures: int,
        per_second: float = 0.0,
        checkpoint: Checkpoint,
        clock: Clock = SYSTEM_CLOCK,
    ):
        self.send = send
        self.connection = connection
        self.token = token
        self.builder = builder
        self.pool = pool
        self.chunk_size = chunk_size
        self.deadline = deadline
        self.allowed_failures = allowed_failures
        self.checkpoint = checkpoint
        self.clock = clock
        self.report = CallReport()
        # Each message waits 1/per_second after the one before, in whichever
        # thread sends it, so no window of time holds more than the rate,
        # even after a stall (a slow answer is no licence for a burst).
        self.pacer = Pacer(per_second, clock)
        # Set by the first message whose answer pauses the send, so that
        # messages the pool has not started yet are not sent after it.
        self.stop = threading.Event()
        # Until the provider takes someone, a refusal may be about us (a relay
        # that refuses everyone) rather than the address.
        self.proven = Delivery.objects.filter(
            send_id=send.pk, state=DeliveryState.SENT
        ).exists()

    def deliver(self, recipients: Sequence[Recipient]) -> CallReport:
        in_flight: tuple[list[Recipient], list] | None = None
        for wanted in self._chunks(recipients):
            chunk, messages = self._hand_over(wanted)
            if not chunk:
                continue
            self.checkpoint("before_call")
            if self.pool is None:
                # Already done: write it down before deciding on the next chunk.
                self._settle(chunk, self._send_in_turn(messages, chunk))
                continue
            results = [
                self.pool.submit(self._send_paced, message, recipient)
                for message, recipient in zip(messages, chunk, strict=True)
            ]
            if in_flight is not None:
                self._settle(*in_flight)
            in_flight = (chunk, results)
        if in_flight is not None:
            if self._must_stop():
                for result in in_flight[1]:
                    if isinstance(result, Future):
                        result.cancel()
            self._settle(*in_flight)
        # Whatever is still claimed (a stopped batch) was never handed over.
        ledger.release(token=self.token, recipients=recipients)
        return self.report

    def _chunks(self, recipients: Sequence[Recipient]) -> Iterator[list[Recipient]]:
        """The batch a chunk at a time, while the send goes on."""
        for start in range(0, len(recipients), self.chunk_size):
            if self._must_stop() or not self._still_sending():
                return
            yield list(recipients[start : start + self.chunk_size])

    def _still_sending(self) -> bool:
        status = (
            IssueSend.objects.filter(pk=self.send.pk)
            .values_list("status", flat=True)
            .first()
        )
        return status == SendStatus.SENDING

    def _hand_over(
        self, wanted: list[Recipient]
    ) -> tuple[list[Recipient], list[EmailMessage]]:
        # Built first: a message that cannot be built leaves its rows claimed,
        # which are given back, not `sending`, which would become uncertain.
        built = {
            recipient.delivery_id: self.builder.build(recipient) for recipient in wanted
        }
        chunk = ledger.mark_sending(
            send=self.send, token=self.token, recipients=wanted, recheck=True
        )
        return chunk, [built[recipient.delivery_id] for recipient in chunk]

    def _must_stop(self) -> bool:
        return bool(
            self.report.pause_reason
            or self.stop.is_set()
            or self.report.failures >= self.allowed_failures
            or self.clock.monotonic() > self.deadline
        )

    def _send_paced(self, message: EmailMessage, recipient: Recipient):
        """In a pool thread: wait for this message's moment, then send it."""
        if self.stop.is_set():
            return NOT_SENT
        self.pacer.wait()
        return send_one(self.connection, message, recipient, self.stop)

    def _send_in_turn(self, messages: list[EmailMessage], chunk: list[Recipient]):
        """One at a time (SMTP): the batch can stop between any two messages."""
        results: list = []
        seen = CallReport()  # this chunk so far, before _settle counts it
        for message, recipient in zip(messages, chunk, strict=True):
            failures = self.report.errors + seen.errors
            if not self.report.accepted + seen.accepted:
                failures += self.report.refused + seen.refused
            if (
                self._must_stop()
                or seen.pause_reason
                or failures >= self.allowed_failures
            ):
                results.append(NOT_SENT)
                continue
            self.pacer.wait()
            result = send_one(self.connection, message, recipient)
            outcomes, failure, detail = result
            if failure is None:
                seen.note_outcomes(outcomes)
            else:
                seen.note_failure(failure, detail)
                reconnect(self.connection, failure)
            results.append(result)
        return results

    def _settle(self, chunk: list[Recipient], results: list) -> None:
        """Write down a chunk's outcomes, once every message of it is answered."""
        # Cancelled before its thread took it: never handed over.
        results = [
            (NOT_SENT if result.cancelled() else result.result())
            if isinstance(result, Future)
            else result
            for result in results
        ]
        self.proven = self.proven or any(
            result is not NOT_SENT
            and any(one.state == DeliveryState.SENT for one in result[0].values())
            for result in results
        )
        outcomes: dict[int, Outcome] = {}
        for recipient, result in zip(chunk, results, strict=True):
            if result is NOT_SENT:
                outcomes[recipient.delivery_id] = UNTOUCHED
            else:
                outcomes.update(self._outcomes_of(recipient, *result))
        self.checkpoint("after_call")
        ledger.record(token=self.token, outcomes=outcomes)

    def _outcomes_of(
        self,
        recipient: Recipient,
        outcomes: dict[int, Outcome],
        failure: Failure | None,
        detail: str,
    ) -> dict[int, Outcome]:
        if failure is None:
            self.report.note_outcomes(outcomes)
            return outcomes
        self.report.note_failure(failure, detail)
        if failure is Failure.REFUSED and not self.proven:
            # Queued again rather than failed; the error count pauses the send
            # if everyone is refused.
            return {recipient.delivery_id: Outcome(DeliveryState.QUEUED, detail=detail)}
        return {recipient.delivery_id: failed_outcome(failure, detail)}
