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


@task()
def session_notices_send(session_id: int) -> int:
    """Mail a session's queued date-change notices; a second run sends none again."""
    return services.session_notices_send(session_id=session_id)


@task()
def session_waitlist_offer(session_id: int) -> int:
    """Offer a session's free seats to its waiting list; idempotent."""
    return len(services.session_waitlist_offer(session_id=session_id))
