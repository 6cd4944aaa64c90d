"""The ledger's steps as a worker takes them: claim, hand over, record, settle.

Each step is its own short transaction, committed before the next; the row
transitions themselves are `DeliveryQuerySet` methods. See docs/sending.md.
"""

import secrets
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, FloatField, Min, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from ..models import Delivery, DeliveryState, IssueSend, SendStatus
from ..models.sending import IN_FLIGHT_STATES, OPEN_STATES, subscribed_to, suppressed

DETAIL_LENGTH = 255


@dataclass(frozen=True)
class Recipient:
    """One claimed ledger row with what a message to it needs."""

    delivery_id: int
    subscriber_id: int
    email: str
    name: str
    link_key: str = ""
    # When they can attend: announcements of new dates list only what fits.
    time_zone: str = ""
    attend_from: int | None = None
    attend_until: int | None = None


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


def clip(text: str) -> str:
    """Text on one line, short enough for a row's detail."""
    return " ".join(str(text).split())[:DETAIL_LENGTH]


def _ids(recipients: Sequence[Recipient]) -> list[int]:
    return [recipient.delivery_id for recipient in recipients]


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
        Delivery.objects.filter(id__in=ids).claim(token=token)
        rows = (
            Delivery.objects.filter(claim_token=token)
            .annotate(
                subscribed=Exists(subscribed_to(send)), suppressed=Exists(suppressed())
            )
            .order_by("id")
            .values_list(
                "id",
                "subscriber_id",
                "subscriber__email",
                "subscriber__name",
                "subscriber__link_key",
                "subscriber__time_zone",
                "subscriber__attend_from",
                "subscriber__attend_until",
                "subscribed",
                "suppressed",
            )
        )
        recipients, departed = [], []
        for delivery_id, subscriber_id, email, name, key, *hours, ok, blocked in rows:
            if subscriber_id is None or not ok or blocked:
                departed.append(delivery_id)
            else:
                recipients.append(
                    Recipient(delivery_id, subscriber_id, email, name, key, *hours)
                )
        if departed:
            Delivery.objects.filter(id__in=departed).skip_departed()
    return token, recipients


def _held(token: str, recipients: Sequence[Recipient]):
    return Delivery.objects.filter(id__in=_ids(recipients), claim_token=token)


def mark_sending(
    *,
    send: IssueSend,
    token: str,
    recipients: Sequence[Recipient],
    recheck: bool = False,
) -> list[Recipient]:
    """Hand over the rows this worker still holds; returns the ones that moved.

    Nothing moves unless the send is still sending. With `recheck`, people who
    left since the claim are skipped first (single mode, whose batches take a
    while).
    """
    held = _held(token, recipients)
    if recheck:
        held.departed(send).skip_departed()
    moved = held.hand_over(send)
    return still_sending(token=token, recipients=recipients, moved=moved)


def renew(*, send: IssueSend, token: str, recipients: Sequence[Recipient]):
    """Before another call of a batch: the rows still ours, their lease renewed.

    Returns None when the send no longer sends. A row another worker took for
    dead meanwhile (now `uncertain`) is left for staff to decide on.
    """
    if not IssueSend.objects.filter(pk=send.pk, status=SendStatus.SENDING).exists():
        return None
    moved = _held(token, recipients).renew()
    return still_sending(token=token, recipients=recipients, moved=moved)


def still_sending(
    *, token: str, recipients: Sequence[Recipient], moved: int
) -> list[Recipient]:
    """The recipients whose rows are `sending` under `token`, after an update of
    `moved` of them; read again only when some did not move."""
    if moved == len(recipients):
        return list(recipients)
    mine = set(
        _held(token, recipients)
        .filter(state=DeliveryState.SENDING)
        .values_list("id", flat=True)
    )
    return [recipient for recipient in recipients if recipient.delivery_id in mine]


def release(*, token: str, recipients: Sequence[Recipient]) -> int:
    """Give claimed rows this worker will not send back to the queue."""
    return _held(token, recipients).release()


def record(*, token: str, outcomes: dict[int, Outcome]) -> None:
    """Write each recipient's outcome, in one transaction, for rows under `token`."""
    if not outcomes:
        return
    groups: dict[tuple[str, str, str, bool], list[tuple[int, str]]] = defaultdict(list)
    for delivery_id, outcome in outcomes.items():
        key = (
            outcome.state,
            outcome.esp_status,
            clip(outcome.detail),
            outcome.attempted,
        )
        groups[key].append((delivery_id, str(outcome.message_id or "")[:255]))
    # A lone group (the usual case: everyone sent) is one statement, atomic on
    # its own; several groups commit together.
    atomic = transaction.atomic() if len(groups) > 1 else nullcontext()
    with atomic:
        for (state, esp_status, detail, attempted), items in groups.items():
            rows = Delivery.objects.filter(
                id__in=[delivery_id for delivery_id, _ in items], claim_token=token
            )
            message_ids = {message_id for _, message_id in items}
            if state == DeliveryState.QUEUED:
                rows.requeue(detail=detail, attempted=attempted)
            elif len(message_ids) == 1:
                rows.settle(
                    state=state,
                    message_id=message_ids.pop(),
                    esp_status=esp_status,
                    detail=detail,
                )
            else:
                rows.settle_each(
                    token=token,
                    message_ids=items,
                    state=state,
                    esp_status=esp_status,
                    detail=detail,
                )


def expire_stale_claims(*, send_id: int) -> None:
    """Settle rows whose worker has been silent longer than the claim lease."""
    cutoff = timezone.now() - timedelta(seconds=settings.NEWSLETTER_CLAIM_LEASE)
    Delivery.objects.filter(send_id=send_id).expire(before=cutoff)


def has_queued(*, send_id: int) -> bool:
    return Delivery.objects.filter(send_id=send_id, state=DeliveryState.QUEUED).exists()


def is_settled(*, send_id: int) -> bool:
    """Whether no row of the send is queued or in flight, stale claims settled."""
    expire_stale_claims(send_id=send_id)
    return not Delivery.objects.filter(send_id=send_id, state__in=OPEN_STATES).exists()


def oldest_claim_expiry(*, send_id: int) -> datetime | None:
    """When the oldest in-flight claim of a send passes its lease, if any."""
    oldest = Delivery.objects.filter(
        send_id=send_id, state__in=IN_FLIGHT_STATES
    ).aggregate(oldest=Min("claimed_at"))["oldest"]
    if oldest is None:
        return None
    return oldest + timedelta(seconds=settings.NEWSLETTER_CLAIM_LEASE + 1)
