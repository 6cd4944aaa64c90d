"""Starting a send and running the worker on it, as the sending tests do."""

from collections import Counter

from newsletter import sending, services
from newsletter.models import IssueSend


def start(issue, mailing_list) -> IssueSend:
    send = services.issue_send_create(issue=issue, mailing_list=mailing_list)
    assert services.issue_send_start(send_id=send.pk)
    send.refresh_from_db()
    return send


def run(
    send: IssueSend,
    seconds: float = 60,
    checkpoint: sending.Checkpoint = sending.no_checkpoint,
    clock: sending.Clock = sending.SYSTEM_CLOCK,
) -> sending.WorkResult:
    """One worker's run on the send, as the `issue_send_work` task makes it."""
    return services.issue_send_work(
        send_id=send.pk, seconds=seconds, checkpoint=checkpoint, clock=clock
    )


def states(send: IssueSend) -> Counter:
    return Counter(send.deliveries.values_list("state", flat=True))
