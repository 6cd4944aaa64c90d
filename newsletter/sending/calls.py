"""One provider call and what it came to, per recipient; the strategies build on it."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from anymail.exceptions import AnymailRecipientsRefused

from ..models import DeliveryState
from .ledger import UNTOUCHED, Outcome, Recipient
from .providers import Failure, classify, describe, reopen

# anymail's recipient statuses that mean the provider took the message, and
# those that mean it refused the address.
ACCEPTED = {"sent", "queued", "scheduled"}
REFUSED_STATUSES = {"rejected", "invalid", "failed"}
# Called with a step's name ("claimed", "before_call", "after_call") as the
# worker reaches it: where a test stops a worker as a kill would, or acts
# between two steps as another process might.
Checkpoint = Callable[[str], None]


def no_checkpoint(name: str) -> None:
    """The checkpoint of a worker nobody watches."""


# Failures that pause the send at once, whatever the error count.
PAUSING = {Failure.CONFIG, Failure.UNREADABLE}


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


def failed_outcome(failure: Failure, detail: str) -> Outcome:
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


class _NotSent:
    """A message of a stopped chunk that was never handed to the provider."""


NOT_SENT = _NotSent()


def send_one(connection, message, recipient: Recipient, stop=None):
    """Send one message, unless another message of the batch has paused the send."""
    if stop is not None and stop.is_set():
        return NOT_SENT
    unopened = reopen(connection)
    if unopened is not None:
        return {}, *unopened
    result = call_provider(connection, message, [recipient])
    if stop is not None and result[1] in PAUSING:
        stop.set()
    return result
