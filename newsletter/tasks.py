"""Background work: sending issues, importing subscribers.

Each task takes keys and is safe to run twice.
"""

import logging

from django.conf import settings
from django_tasks import task

from . import services

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
    result = services.issue_send_work(
        send_id=send_id, seconds=settings.NEWSLETTER_TASK_SECONDS
    )
    return result.value


@task()
def issue_send_test(page_id: int, revision_id: int | None, user_id: int) -> bool:
    """Send the issue as last saved to the member of staff who asked."""
    return services.issue_send_test(
        page_id=page_id, revision_id=revision_id, user_id=user_id
    )


@task()
def subscribers_import_run(import_id: int) -> bool:
    """Import an uploaded file a chunk at a time; carry on where a dead run left."""
    try:
        return services.subscribers_import_continue(import_id=import_id)
    except Exception as error:
        # Nothing else would look at it again: say so on the import's page.
        logger.exception("Import %s stopped", import_id)
        services.subscribers_import_fail(
            import_id=import_id, error=f"{type(error).__name__}: {error}"
        )
        return False
