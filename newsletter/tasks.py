"""Background work for sending issues. Each task takes keys and is safe to run twice."""

import logging

from django_tasks import default_task_backend, task

from . import sending, services

logger = logging.getLogger(__name__)


@task()
def issue_send_start(send_id: int) -> bool:
    """Freeze the issue and fix its recipients when the send's time comes."""
    return services.issue_send_start(send_id=send_id)


@task()
def issue_send_work(send_id: int) -> str:
    """Deliver batches of one send for a while, then hand over to a fresh task.

    Several of these run at once, one per worker; each claims its own batches.
    """
    from django.conf import settings

    try:
        result = sending.work(send_id=send_id, seconds=settings.NEWSLETTER_TASK_SECONDS)
    except Exception as error:
        # Nothing else would queue the next task: the send would say
        # "Sending" for ever. Pause it with the reason where staff look.
        logger.exception("Sending worker for send %s stopped", send_id)
        try:
            services.issue_send_halt(send_id=send_id, error=sending.describe(error))
        except Exception:
            # The database itself may be what failed; the page's stale
            # heartbeat warning still tells staff.
            logger.exception("Could not pause send %s", send_id)
        return "error"
    if result is sending.WorkResult.MORE:
        issue_send_work.enqueue(send_id)
    elif result is sending.WorkResult.WAITING and default_task_backend.supports_defer:
        # Other workers hold the last rows. Should they die, this later run
        # settles their claims once the lease passes and finishes the send.
        check_at = sending.oldest_claim_expiry(send_id=send_id)
        if check_at is not None:
            issue_send_work.using(run_after=check_at).enqueue(send_id)
    return result.value


@task()
def issue_send_test(page_id: int, revision_id: int | None, user_id: int) -> bool:
    """Send the issue as last saved to the member of staff who asked."""
    return services.issue_send_test(
        page_id=page_id, revision_id=revision_id, user_id=user_id
    )
