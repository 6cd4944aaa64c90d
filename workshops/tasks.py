"""Background work for sales. Each task takes keys and is safe to run twice."""

from django_tasks import task

from . import services


@task()
def refund_send(refund_id: int) -> str:
    """Send a recorded refund to Stripe; a second run finds it settled."""
    return services.refund_send(refund_id=refund_id).status
