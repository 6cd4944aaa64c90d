"""Sending an issue to a list: create, start, pause, resume, cancel and halt a send,
settle its uncertain deliveries, and email a test to a member of staff.

The delivery itself (claims, provider calls, outcomes) is `newsletter.sending`'s:
`issue_send_work` runs its worker and acts on what it reports. docs/sending.md
describes the pipeline.
"""

import datetime
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from django_tasks import default_task_backend
from wagtail.log_actions import log
from wagtail.models import Revision

from home.tasks import enqueue_on_commit

from .. import rendering, sending, tasks
from ..models import (
    Delivery,
    IssueSend,
    MailingList,
    NewsletterIssuePage,
    SendStatus,
    Subscriber,
    normalise_email,
)
from ..models.sending import ACTIVE_SEND_STATUSES, OPEN_STATES
from ..sending import providers

logger = logging.getLogger(__name__)


def _enqueue_workers(send: IssueSend) -> None:
    for _ in range(max(settings.NEWSLETTER_PARALLEL_TASKS, 1)):
        enqueue_on_commit(tasks.issue_send_work, send.pk)


def backend_can_schedule() -> bool:
    """Whether the task backend can run a task later (not the immediate one)."""
    return default_task_backend.supports_defer


def issue_send_create(
    *,
    issue: NewsletterIssuePage,
    mailing_list: MailingList,
    user=None,
    scheduled_at: datetime.datetime | None = None,
) -> IssueSend:
    """Send a published issue to a list, now or at `scheduled_at`.

    The email and the recipients are fixed when the send starts, not here:
    a scheduled send goes out as the issue is published at that time.
    """
    now = timezone.now()
    if not issue.live:
        raise ValidationError("Publish the issue before sending it.")
    if scheduled_at is not None and scheduled_at <= now:
        scheduled_at = None
    if scheduled_at is not None and not backend_can_schedule():
        raise ValidationError(
            "This site's task backend cannot run work later; send it now instead."
        )
    with transaction.atomic():
        # The issue's row lock makes "one active send per issue" a clear message
        # rather than an integrity error when two people press at once.
        NewsletterIssuePage.objects.select_for_update().filter(pk=issue.pk).first()
        if IssueSend.objects.filter(
            issue=issue, status__in=ACTIVE_SEND_STATUSES
        ).exists():
            raise ValidationError(
                "This issue is already being sent or scheduled; wait for that "
                "send to finish or cancel it first."
            )
        send = IssueSend.objects.create(
            issue=issue,
            issue_title=issue.title,
            mailing_list=mailing_list,
            list_name=mailing_list.name,
            scheduled_at=scheduled_at or now,
            created_by=user,
        )
        log(
            instance=issue,
            action="newsletter.send_scheduled" if scheduled_at else "newsletter.send",
            user=user,
            data={"list": mailing_list.name, "send": send.pk},
        )
        enqueue_on_commit(tasks.issue_send_start, send.pk, run_after=scheduled_at)
    return send


def issue_send_start(*, send_id: int) -> bool:
    """Freeze the email and fix the recipients, then let the workers go.

    Safe to run twice: only a scheduled send whose time has come starts.
    """
    now = timezone.now()
    with transaction.atomic():
        send = IssueSend.objects.select_for_update().filter(pk=send_id).first()
        if send is None or send.status != SendStatus.SCHEDULED:
            return False
        if send.scheduled_at > now + datetime.timedelta(seconds=1):
            # Run early (a backend's clock, a resumed worker): try again on time.
            enqueue_on_commit(
                tasks.issue_send_start, send.pk, run_after=send.scheduled_at
            )
            return False
        issue = NewsletterIssuePage.objects.filter(pk=send.issue_id).live().first()
        if issue is None or send.mailing_list_id is None:
            send.status = SendStatus.CANCELLED
            send.pause_reason = "The issue was unpublished or the list deleted first."
            send.finished_at = now
            send.save(update_fields=["status", "pause_reason", "finished_at"])
            return False
        backend = settings.EMAIL_BACKEND
        profile = providers.profile_for(backend)
        placeholder = providers.placeholder_format(mode=profile.mode, profile=profile)
        rendered = rendering.issue_render(
            page=issue,
            placeholders={
                name: placeholder.format(name) for name in rendering.PERSONAL_FIELDS
            },
            mailing_list=send.mailing_list,
        )
        send.mode = profile.mode
        send.email_backend = backend
        send.batch_size = max(profile.batch_size, 1)
        send.revision_id = issue.live_revision_id
        send.subject = rendered.subject
        send.html = rendered.html
        send.text = rendered.text
        send.status = SendStatus.SENDING
        send.started_at = now
        send.heartbeat_at = now
        send.save()
        Delivery.objects.queue_recipients(send)
        _enqueue_workers(send)
    return True


def issue_send_pause(*, send_id: int, reason: str = "", user=None) -> bool:
    """Stop the send; messages already with the provider finish.

    Rows a worker claimed but has not handed over go back to the queue: the
    worker's own move to `sending` then finds nothing to move.
    """
    with transaction.atomic():
        send = IssueSend.objects.select_for_update().filter(pk=send_id).first()
        if send is None or send.status != SendStatus.SENDING:
            return False
        send.status = SendStatus.PAUSED
        send.pause_reason = reason[:255] or "Paused by staff."
        send.save(update_fields=["status", "pause_reason"])
        send.deliveries.release()
        log(
            instance=send,
            action="newsletter.send_paused",
            user=user,
            data={"reason": send.pause_reason},
        )
    return True


def issue_send_resume(*, send_id: int, user=None) -> bool:
    """Carry on with a paused send, or restart the workers of one that stalled.

    Rows a dead worker left are settled by their lease (docs/sending.md):
    claimed ones go back to the queue, ones with the provider become uncertain.
    """
    with transaction.atomic():
        send = IssueSend.objects.select_for_update().filter(pk=send_id).first()
        if send is None or send.status not in (SendStatus.PAUSED, SendStatus.SENDING):
            return False
        send.status = SendStatus.SENDING
        send.pause_reason = ""
        send.error_count = 0
        send.heartbeat_at = timezone.now()
        send.save(
            update_fields=["status", "pause_reason", "error_count", "heartbeat_at"]
        )
        log(instance=send, action="newsletter.send_resumed", user=user)
        _enqueue_workers(send)
    return True


def issue_send_work(
    *,
    send_id: int,
    seconds: float,
    checkpoint: sending.Checkpoint = sending.no_checkpoint,
    clock: sending.Clock = sending.SYSTEM_CLOCK,
) -> sending.WorkResult:
    """Run one sending worker for up to `seconds`, then act on its verdict.

    Finishes or pauses the send as the worker found, and queues what comes next:
    a fresh task when time ran out, or a later check when other workers hold the
    last rows (should they die, it settles their claims once the lease passes
    and finishes the send). A worker that stops on an unexpected error pauses
    the send and says why, since nothing else would queue the next task.
    """
    try:
        verdict = sending.work(
            send_id=send_id, seconds=seconds, checkpoint=checkpoint, clock=clock
        )
    except Exception as error:
        logger.exception("Sending worker for send %s stopped", send_id)
        try:
            issue_send_halt(send_id=send_id, error=sending.describe(error))
        except Exception:
            # The database itself may be what failed; the page's stale
            # heartbeat warning still tells staff.
            logger.exception("Could not pause send %s", send_id)
        return sending.WorkResult.ERROR
    if verdict.pause_reason:
        issue_send_pause(send_id=send_id, reason=verdict.pause_reason)
    elif verdict.result is sending.WorkResult.FINISHED:
        issue_send_finish(send_id=send_id)
    elif verdict.result is sending.WorkResult.MORE:
        tasks.issue_send_work.enqueue(send_id)
    elif verdict.result is sending.WorkResult.WAITING and backend_can_schedule():
        check_at = sending.oldest_claim_expiry(send_id=send_id)
        if check_at is not None:
            tasks.issue_send_work.using(run_after=check_at).enqueue(send_id)
    return verdict.result


def issue_send_finish(*, send_id: int) -> bool:
    """Mark a sending send finished, once none of its rows is queued or in flight."""
    with transaction.atomic():
        send = IssueSend.objects.select_for_update().filter(pk=send_id).first()
        if send is None or send.status != SendStatus.SENDING:
            return False
        if send.deliveries.filter(state__in=OPEN_STATES).exists():
            return False
        send.status = SendStatus.FINISHED
        send.finished_at = timezone.now()
        send.save(update_fields=["status", "finished_at"])
    return True


def issue_send_cancel(*, send_id: int, user=None) -> bool:
    """Stop a send for good: whoever is not yet with the provider is skipped.

    That includes rows a worker has claimed but not handed over: its move to
    `sending` needs them still claimed, so they are never sent.
    """
    with transaction.atomic():
        send = IssueSend.objects.select_for_update().filter(pk=send_id).first()
        if send is None or not send.is_active:
            return False
        send.status = SendStatus.CANCELLED
        send.finished_at = timezone.now()
        send.save(update_fields=["status", "finished_at"])
        send.deliveries.cancel()
        log(instance=send, action="newsletter.send_cancelled", user=user)
    return True


def deliveries_resolve_uncertain(*, send_id: int, resend: bool, user=None) -> int:
    """Staff's decision on uncertain deliveries: send them again, or let them be.

    Resending risks a second copy for anyone the provider did take; the admin
    says so. Either way the rows keep blocking another send of the issue from
    reaching those people (`may_have_reached`). Returns how many rows changed.
    """
    with transaction.atomic():
        send = IssueSend.objects.select_for_update().get(pk=send_id)
        if resend:
            _check_may_resend(send)
            changed = send.deliveries.resend_uncertain()
            if changed and send.status == SendStatus.FINISHED:
                send.status = SendStatus.SENDING
                send.finished_at = None
                send.save(update_fields=["status", "finished_at"])
            if changed and send.status == SendStatus.SENDING:
                _enqueue_workers(send)
        else:
            changed = send.deliveries.give_up_uncertain()
        log(
            instance=send,
            action="newsletter.uncertain_resolved",
            user=user,
            data={"resend": resend, "deliveries": changed},
        )
    return changed


def _check_may_resend(send: IssueSend) -> None:
    """Refuse to send a send's uncertain rows again when its state does not allow it."""
    if send.status == SendStatus.CANCELLED:
        raise ValidationError(
            "This send was cancelled: nothing of it is sent again. Mark its "
            "uncertain deliveries as not sent, or send the issue to the list anew."
        )
    if send.status == SendStatus.FINISHED and send.issue_id is not None:
        # Reopening it would make two active sends of one issue. The issue's
        # row lock orders this against issue_send_create.
        NewsletterIssuePage.objects.select_for_update().filter(pk=send.issue_id).first()
        if (
            IssueSend.objects.filter(
                issue_id=send.issue_id, status__in=ACTIVE_SEND_STATUSES
            )
            .exclude(pk=send.pk)
            .exists()
        ):
            raise ValidationError(
                "Another send of this issue is under way; send these again "
                "once it has finished."
            )


def issue_send_halt(*, send_id: int, error: str) -> bool:
    """Pause a send whose worker stopped on an unexpected error, saying why."""
    with transaction.atomic():
        IssueSend.objects.filter(pk=send_id).update(last_error=error)
        return issue_send_pause(
            send_id=send_id,
            reason=f"A sending worker stopped on an error; resume to carry on. {error}",
        )


def issue_send_test(*, page_id: int, revision_id: int | None, user_id: int) -> bool:
    """Send the issue, as last saved, to one member of staff, marked as a test."""
    user = get_user_model().objects.filter(pk=user_id).first()
    page = NewsletterIssuePage.objects.filter(pk=page_id).first()
    if user is None or page is None or not user.email:
        return False
    revision = Revision.objects.filter(pk=revision_id).first() if revision_id else None
    if revision is not None and revision.object_id == str(page.pk):
        page = revision.as_object()
    placeholder = providers.SINGLE_PLACEHOLDER
    rendered = rendering.issue_render(
        page=page,
        placeholders={
            name: placeholder.format(name) for name in rendering.PERSONAL_FIELDS
        },
    )
    subscriber = Subscriber.objects.filter(email=normalise_email(user.email)).first()
    values = rendering.sample_values(name=user.first_name, subscriber=subscriber)
    message = EmailMultiAlternatives(
        subject=f"[Test] {rendered.subject}",
        body=rendering.PersonalTemplate(rendered.text, placeholder).fill(values),
        from_email=settings.DEFAULT_FROM_EMAIL,
        # No List-Unsubscribe: a mail client's one-click button on a test
        # would unsubscribe the editor from every list, or post to a sign-up
        # page. The links in the body are there to be looked at.
        to=[user.email],
    )
    message.attach_alternative(
        rendering.PersonalTemplate(rendered.html, placeholder).fill(values),
        "text/html",
    )
    message.send()
    log(instance=page, action="newsletter.test_sent", user=user)
    return True


def issue_send_test_request(
    *, page_id: int, revision_id: int | None, user_id: int
) -> None:
    """Queue a test of the issue as saved, for a member of staff, after the commit."""
    enqueue_on_commit(tasks.issue_send_test, page_id, revision_id, user_id)
