"""Batch mode: one provider call carries a whole batch, with merge fields.

A batch the provider refuses is split in halves until the refused address stands
alone, since anymail raises for the whole call when one address is refused.
"""

import logging
from collections.abc import Sequence

from ..models import IssueSend
from . import ledger
from .calls import CallReport, Checkpoint, call_provider, failed_outcome
from .ledger import UNTOUCHED, Outcome, Recipient
from .messages import batch_message
from .providers import Failure, describe

logger = logging.getLogger(__name__)

# A group still to send (refusal None), or one the provider refused as a whole
# with its answer, still to be split.
Pending = tuple[list[Recipient], str | None]


class _Stopped(Exception):
    """The send was paused or cancelled between two calls of one batch."""


class BatchDelivery:
    """Deliver one claimed batch, writing each call's outcome as soon as it is known.

    A worker that dies while splitting leaves only the rows still being split
    uncertain. Between calls the send's status is read again: a pause or a
    cancel stops the split.
    """

    def __init__(
        self, *, send: IssueSend, connection, token: str, checkpoint: Checkpoint
    ):
        self.send = send
        self.connection = connection
        self.token = token
        self.checkpoint = checkpoint
        self.report = CallReport()
        # Rows with no outcome written yet. Every call that could have sent
        # them writes one, so any left at the end were provably not sent.
        self.unsettled: set[int] = set()
        # Once the provider takes part of this batch, the message itself is
        # fine and a refusal is about an address.
        self.proven = False
        self.calls = 0

    def deliver(self, recipients: Sequence[Recipient]) -> CallReport:
        if not recipients:
            return self.report
        self.unsettled = {recipient.delivery_id for recipient in recipients}
        # Last in, first out.
        pending: list[Pending] = [(list(recipients), None)]
        while pending and not self.report.pause_reason:
            group, refusal = pending.pop()
            try:
                pending.extend(self._step(group, refusal))
            except _Stopped:
                break
        if self.unsettled:
            # Never called, or refused whole while the send stopped: not sent.
            self._write(dict.fromkeys(self.unsettled, UNTOUCHED))
        return self.report

    def _step(self, group: list[Recipient], refusal: str | None) -> list[Pending]:
        """Send a group, or split one the provider refused; what is left to do."""
        if refusal is None:
            failure, refusal = self._call(group)
            if failure is not Failure.REFUSED:
                return []
        if len(group) == 1:
            self._refuse(group[0], refusal)
            return []
        return self._split(group)

    def _split(self, group: list[Recipient]) -> list[Pending]:
        """Nothing of a refused group was sent: try each half on its own."""
        middle = len(group) // 2
        halves = (group[:middle], group[middle:])
        answers = []
        for half in halves:
            if self.report.pause_reason:
                return []
            answers.append(self._call(half))
        if self.report.pause_reason:
            return []
        refused = [
            (half, detail)
            for half, (failure, detail) in zip(halves, answers, strict=True)
            if failure is Failure.REFUSED
        ]
        if len(refused) == 2 and refused[0][1] == refused[1][1] and not self.proven:
            return self._probe(refused)
        return refused

    def _probe(self, refused: list[tuple[list[Recipient], str]]) -> list[Pending]:
        """Both halves were refused alike: the message, or an address each?

        One recipient from each half, on their own, tells: two bad addresses
        just there, refused in the same words, would be a rare coincidence. If
        both are refused alike the message is at fault and the send pauses;
        otherwise returns what is still to send or split.
        """
        (first, same), (second, _) = refused
        answers = []
        for half in (first, second):
            if self.report.pause_reason:
                return []
            # A half of one was already sent on its own.
            answers.append(
                self._call(half[:1]) if len(half) > 1 else (Failure.REFUSED, same)
            )
        if self.report.pause_reason:
            return []
        if all(
            failure is Failure.REFUSED and detail == same for failure, detail in answers
        ):
            self.report.note_failure(
                Failure.CONFIG,
                "every part of a batch was refused alike, so it is the message, "
                f"not an address: {same}",
            )
            return []
        remaining: list[Pending] = []
        for half, (failure, detail) in zip((first, second), answers, strict=True):
            if failure is Failure.REFUSED:
                self._refuse(half[0], detail)
                # The refused address may have been the only one: send the rest.
                remaining.append((half[1:], None))
            else:
                # The one we tried went through: the refusal is among the rest.
                remaining.append((half[1:], same))
        return [(group, refusal) for group, refusal in remaining if group]

    def _call(self, group: list[Recipient]) -> tuple[Failure | None, str]:
        if self.calls:
            renewed = ledger.renew(send=self.send, token=self.token, recipients=group)
            if renewed is None:
                raise _Stopped
            if not renewed:
                return None, ""
            group = renewed
        self.calls += 1
        try:
            message = batch_message(send=self.send, recipients=group)
        except Exception as error:
            # Nothing left this machine; the message, not anyone in it.
            logger.exception("Could not build a batch of send %s", self.send.pk)
            self.report.note_failure(Failure.CONFIG, describe(error))
            return Failure.CONFIG, describe(error)
        self.checkpoint("before_call")
        outcomes, failure, detail = call_provider(self.connection, message, group)
        self.checkpoint("after_call")
        if failure is None:
            self.report.note_outcomes(outcomes)
            self.proven = self.proven or self.report.accepted > 0
            self._write(outcomes)
        elif failure is not Failure.REFUSED:
            self.report.note_failure(failure, detail)
            outcome = failed_outcome(failure, detail)
            self._write({recipient.delivery_id: outcome for recipient in group})
        return failure, detail

    def _refuse(self, recipient: Recipient, detail: str) -> None:
        self.report.note_failure(Failure.REFUSED, detail)
        self._write({recipient.delivery_id: failed_outcome(Failure.REFUSED, detail)})

    def _write(self, outcomes: dict[int, Outcome]) -> None:
        ledger.record(token=self.token, outcomes=outcomes)
        self.unsettled.difference_update(outcomes)
