"""Announcing new workshop dates: count who they suit, confirm, send once.

An announcement is a send (`IssueSend`, kind `dates`) through the same pipeline
as an issue (docs/sending.md): its ledger, throttle, headers and suppression.
Its frozen email holds one more placeholder, the list of dates, which each
recipient's copy fills with the dates within their hours (newsletter/announcing.py).
A session is announced at most once: `SessionAnnouncement` is unique per session.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from wagtail.log_actions import log

from workshops.models import SessionStatus, WorkshopSession

from .. import announcing, rendering
from ..models import (
    Delivery,
    IssueSend,
    MailingList,
    SendKind,
    SendStatus,
    SessionAnnouncement,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from ..sending import providers
from .sends import _enqueue_workers

ANNOUNCEABLE = (SessionStatus.SCHEDULED, SessionStatus.TENTATIVE)


def dates_list() -> MailingList | None:
    """The list new dates are announced to (the first one so marked)."""
    return MailingList.objects.filter(announces_new_dates=True).order_by("pk").first()


def announcement_candidates(*, now: datetime | None = None) -> list[WorkshopSession]:
    """Published sessions still to come that no announcement has told of."""
    now = now or timezone.now()
    return list(
        WorkshopSession.objects.filter(
            workshop__live=True,
            starts_at__gt=now,
            status__in=ANNOUNCEABLE,
            announcement__isnull=True,
        )
        .select_related("workshop")
        .order_by("starts_at", "pk")
    )


@dataclass(frozen=True)
class AnnouncementPlan:
    """Who each new date suits, as the editor sees before confirming."""

    sessions: list[WorkshopSession]
    per_session: dict[int, int]
    subscriber_ids: list[int]

    @property
    def recipients(self) -> int:
        return len(self.subscriber_ids)


def _audience(mailing_list: MailingList) -> list[tuple[int, announcing.Availability]]:
    """Confirmed, unsuppressed subscribers of the list, with when they can attend."""
    rows = (
        Subscription.objects.filter(
            mailing_list=mailing_list, status=SubscriptionStatus.CONFIRMED
        )
        .exclude(subscriber__email_hash__in=Suppression.objects.values("email_hash"))
        .values_list(
            "subscriber_id",
            "subscriber__time_zone",
            "subscriber__attend_from",
            "subscriber__attend_until",
        )
        .order_by("subscriber_id")
    )
    return [
        (subscriber_id, announcing.Availability(zone, start, end))
        for subscriber_id, zone, start, end in rows
    ]


def announcement_plan(
    *, mailing_list: MailingList, sessions: Sequence[WorkshopSession]
) -> AnnouncementPlan:
    """How many subscribers each session suits, and everyone some session suits."""
    per_session = {session.pk: 0 for session in sessions}
    subscriber_ids = []
    for subscriber_id, availability in _audience(mailing_list):
        suited = announcing.suiting(sessions, availability)
        for session in suited:
            per_session[session.pk] += 1
        if suited:
            subscriber_ids.append(subscriber_id)
    return AnnouncementPlan(list(sessions), per_session, subscriber_ids)


def announcement_send(
    *, session_ids: Sequence[int], mailing_list_id: int, user=None
) -> IssueSend:
    """Announce the chosen new dates to the list: each session once, ever.

    Each subscriber gets one email listing only the chosen dates within their
    hours (all of them, when they gave none); nobody whom none suits is mailed.
    """
    if not session_ids:
        raise ValidationError("Choose at least one date to announce.")
    now = timezone.now()
    mailing_list = MailingList.objects.get(pk=mailing_list_id)
    with transaction.atomic():
        sessions = list(
            WorkshopSession.objects.select_for_update(of=("self",))
            .filter(pk__in=session_ids)
            .select_related("workshop")
            .order_by("starts_at", "pk")
        )
        fresh = {session.pk for session in announcement_candidates(now=now)}
        if len(sessions) != len(set(session_ids)) or any(
            session.pk not in fresh for session in sessions
        ):
            raise ValidationError(
                "Some of these dates were announced already, or are no longer "
                "open: reload the page and choose again."
            )
        plan = announcement_plan(mailing_list=mailing_list, sessions=sessions)
        send = _frozen_send(mailing_list=mailing_list, sessions=sessions, user=user)
        try:
            with transaction.atomic():
                SessionAnnouncement.objects.bulk_create(
                    SessionAnnouncement(
                        session=session,
                        send=send,
                        recipients=plan.per_session[session.pk],
                        created_by=user,
                    )
                    for session in sessions
                )
        except IntegrityError as error:
            raise ValidationError(
                "Someone announced some of these dates a moment ago."
            ) from error
        Delivery.objects.queue_subscribers(send, plan.subscriber_ids)
        log(
            instance=send,
            action="newsletter.dates_announced",
            user=user,
            data={"sessions": [s.pk for s in sessions], "to": plan.recipients},
        )
        _enqueue_workers(send)
    return send


def _frozen_send(
    *, mailing_list: MailingList, sessions: Sequence[WorkshopSession], user
) -> IssueSend:
    now = timezone.now()
    backend = settings.EMAIL_BACKEND
    profile = providers.profile_for(backend)
    placeholder = providers.placeholder_format(mode=profile.mode, profile=profile)
    rendered = rendering.dates_render(
        placeholders={
            name: placeholder.format(name)
            for name in (*rendering.PERSONAL_FIELDS, *announcing.ANNOUNCEMENT_FIELDS)
        },
        mailing_list=mailing_list,
    )
    count = len(sessions)
    return IssueSend.objects.create(
        kind=SendKind.DATES,
        issue=None,
        issue_title=f"New dates: {count} session{'s' if count != 1 else ''}",
        mailing_list=mailing_list,
        list_name=mailing_list.name,
        status=SendStatus.SENDING,
        scheduled_at=now,
        started_at=now,
        heartbeat_at=now,
        created_by=user,
        mode=profile.mode,
        email_backend=backend,
        batch_size=max(profile.batch_size, 1),
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
    )
