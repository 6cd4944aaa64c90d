"""The sending pipeline: claim a batch, hand it to the provider, record what happened.

docs/sending.md describes it once, with the ledger's state diagram. The modules:
`ledger` (the worker's steps on the Delivery rows), `messages` (what is handed
over), `providers` (everything provider-specific), `calls` (one provider call),
`batch` and `single` (the two strategies), and `worker` (the loop).
"""

from .calls import Checkpoint, no_checkpoint
from .clock import SYSTEM_CLOCK, Clock
from .ledger import (
    UNTOUCHED,
    Outcome,
    Recipient,
    claim,
    expire_stale_claims,
    mark_sending,
    oldest_claim_expiry,
    record,
)
from .providers import Failure, classify, connection_options, describe
from .worker import Verdict, WorkResult, work

__all__ = [
    "SYSTEM_CLOCK",
    "Clock",
    "UNTOUCHED",
    "Checkpoint",
    "Failure",
    "Outcome",
    "Recipient",
    "Verdict",
    "WorkResult",
    "claim",
    "classify",
    "connection_options",
    "describe",
    "expire_stale_claims",
    "mark_sending",
    "no_checkpoint",
    "oldest_claim_expiry",
    "record",
    "work",
]
