"""Background work for sales. Each task takes keys and is safe to run twice."""

from django_tasks import task

from . import services


@task()
def refund_send(refund_id: int) -> str:
    """Send a recorded refund to Stripe; a second run finds it settled."""
    return services.refund_send(refund_id=refund_id).status


@task()
def certificate_send(certificate_id: int) -> bool:
    """Email an issued certificate with its PDF; a second run finds it sent."""
    return services.certificate_send(certificate_id=certificate_id)
