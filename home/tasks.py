"""Queueing background work from a service: only once its change has committed."""

from datetime import datetime

from django.db import transaction
from django_tasks.base import Task


def enqueue_on_commit(task: Task, *args, run_after: datetime | None = None) -> None:
    """Queue `task(*args)` when the current transaction commits (at once outside one).

    A task queued before the commit could run before the rows it reads exist,
    or for a change that then rolled back. A failure to queue is logged, not
    raised into a request whose change has already happened.
    """

    def enqueue() -> None:
        (task.using(run_after=run_after) if run_after else task).enqueue(*args)

    transaction.on_commit(enqueue, robust=True)
