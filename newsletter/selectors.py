"""Reads across lists, subscribers, consent and sends."""

import datetime
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from .models import (
    Delivery,
    DeliveryState,
    MailingList,
    NewsletterSignupPage,
    SendStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from .models.sending import HOLDS_A_COPY


def public_lists() -> QuerySet[MailingList]:
    return MailingList.objects.filter(is_public=True)


def signup_page() -> NewsletterSignupPage | None:
    return NewsletterSignupPage.objects.live().public().first()


@dataclass(frozen=True)
class ListChoice:
    """A list on the preferences page and whether the subscriber is on it."""

    mailing_list: MailingList
    status: str | None

    @property
    def is_on(self) -> bool:
        return self.status == SubscriptionStatus.CONFIRMED

    @property
    def is_pending(self) -> bool:
        return self.status == SubscriptionStatus.PENDING


def preference_choices(*, subscriber: Subscriber) -> list[ListChoice]:
    """The public lists, plus any private list the subscriber is on."""
    statuses = dict(subscriber.subscriptions.values_list("mailing_list_id", "status"))
    lists = MailingList.objects.filter(Q(is_public=True) | Q(pk__in=list(statuses)))
    return [
        ListChoice(mailing_list=mailing_list, status=statuses.get(mailing_list.pk))
        for mailing_list in lists
    ]


def lists_with_confirmed_count() -> QuerySet[MailingList]:
    """Every list, each with `confirmed_count`, for the admin's listing."""
    return MailingList.objects.annotate(
        confirmed_count=Count(
            "subscriptions",
            filter=Q(subscriptions__status=SubscriptionStatus.CONFIRMED),
        )
    )


def subscribers_with_lists() -> QuerySet[Subscriber]:
    """Subscribers with their subscriptions and lists read in two more queries."""
    return Subscriber.objects.prefetch_related("subscriptions__mailing_list")


def subscriber_sources() -> list[str]:
    """Every source subscribers came from, once each, in order."""
    return list(
        Subscriber.objects.order_by("source")
        .values_list("source", flat=True)
        .distinct()
    )


def subscribers_with_subscription(
    queryset: QuerySet[Subscriber],
    *,
    mailing_list: MailingList | None,
    status: str | None,
) -> QuerySet[Subscriber]:
    """Those with one subscription to the list in the status; either may be left out.

    Both conditions hold for the same subscription, not for any two.
    """
    if not (mailing_list or status):
        return queryset
    matching = Subscription.objects.filter(subscriber=OuterRef("pk"))
    if mailing_list:
        matching = matching.filter(mailing_list=mailing_list)
    if status:
        matching = matching.filter(status=status)
    return queryset.filter(Exists(matching))


def mailable_subscriptions(*, mailing_list: MailingList) -> QuerySet[Subscription]:
    """Confirmed subscriptions to a list whose address is not suppressed.

    The suppression check is belt and braces: suppressing already unsubscribes,
    but this is the query that decides who gets mail.
    """
    return (
        Subscription.objects.filter(
            mailing_list=mailing_list, status=SubscriptionStatus.CONFIRMED
        )
        .exclude(
            Exists(
                Suppression.objects.filter(
                    email_hash=OuterRef("subscriber__email_hash")
                )
            )
        )
        .select_related("subscriber")
    )


def subscriber_data(*, subscriber: Subscriber) -> dict[str, Any]:
    """Everything stored about one person, for a subject access request."""
    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "source": subscriber.source,
        "created_at": subscriber.created_at.isoformat(),
        "soft_bounce_count": subscriber.soft_bounce_count,
        "time_zone": subscriber.time_zone,
        "attend_from": subscriber.attend_from,
        "attend_until": subscriber.attend_until,
        "suppressed": Suppression.objects.filter(
            email_hash=subscriber.email_hash
        ).exists(),
        "subscriptions": [
            {
                "list": subscription.mailing_list.name,
                "status": subscription.status,
                "created_at": subscription.created_at.isoformat(),
                "confirmed_at": _iso(subscription.confirmed_at),
                "unsubscribed_at": _iso(subscription.unsubscribed_at),
            }
            for subscription in subscriber.subscriptions.select_related(
                "mailing_list"
            ).order_by("mailing_list__name")
        ],
        "consent_history": [
            {
                "action": record.action,
                "list": record.list_name,
                "at": record.created_at.isoformat(),
                "ip_address": record.ip_address,
                "user_agent": record.user_agent,
                "source": record.source,
                "source_detail": record.source_detail,
                "consent_text_version": (
                    record.consent_text.version if record.consent_text else None
                ),
                "consent_text": (
                    record.consent_text.text if record.consent_text else None
                ),
            }
            for record in subscriber.consent_records.select_related("consent_text")
        ],
    }


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _month_starts(months: int, today: datetime.date) -> list[datetime.date]:
    year, month = today.year, today.month
    starts = []
    for _ in range(months):
        starts.append(datetime.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(starts))


@dataclass(frozen=True)
class ListGrowth:
    """Confirmed subscribers of one list at the end of each month."""

    mailing_list: MailingList
    points: list[tuple[datetime.date, int]]

    @property
    def current(self) -> int:
        return self.points[-1][1] if self.points else 0

    @property
    def peak(self) -> int:
        return max((count for _, count in self.points), default=0)


def confirmed_growth(*, months: int = 6) -> list[ListGrowth]:
    """Per list, how many subscribers were confirmed at the end of each month.

    Worked out from when each subscription was confirmed and, if it was, when it
    ended; erased people drop out of the past too, as they should.
    """
    now = timezone.now()
    ends = []
    for start in _month_starts(months, timezone.localdate(now)):
        following = (start + datetime.timedelta(days=32)).replace(day=1)
        end = datetime.datetime.combine(
            following, datetime.time.min, tzinfo=datetime.UTC
        )
        ends.append((start, min(end, now)))
    aggregates = {
        f"m{index}": Count(
            "subscriptions",
            filter=Q(
                subscriptions__confirmed_at__lt=end,
                subscriptions__status__in=[
                    SubscriptionStatus.CONFIRMED,
                    SubscriptionStatus.UNSUBSCRIBED,
                ],
            )
            & (
                Q(subscriptions__unsubscribed_at__isnull=True)
                | Q(subscriptions__unsubscribed_at__gte=end)
                | Q(subscriptions__status=SubscriptionStatus.CONFIRMED)
            ),
        )
        for index, (_, end) in enumerate(ends)
    }
    return [
        ListGrowth(
            mailing_list=mailing_list,
            points=[
                (start, getattr(mailing_list, f"m{index}"))
                for index, (start, _) in enumerate(ends)
            ],
        )
        for mailing_list in MailingList.objects.annotate(**aggregates)
    ]


FIGURES = (
    "total",
    "queued",
    "in_flight",
    "sent",
    "failed",
    "uncertain",
    "skipped",
    "delivered",
    "bounced",
    "complained",
    "unsubscribed",
)


def _figure_aggregates() -> dict:
    return {
        "total": Count("pk"),
        "queued": Count("pk", filter=Q(state=DeliveryState.QUEUED)),
        "in_flight": Count(
            "pk", filter=Q(state__in=[DeliveryState.CLAIMED, DeliveryState.SENDING])
        ),
        "sent": Count("pk", filter=Q(state=DeliveryState.SENT)),
        "failed": Count("pk", filter=Q(state=DeliveryState.FAILED)),
        "uncertain": Count("pk", filter=Q(state=DeliveryState.UNCERTAIN)),
        "skipped": Count("pk", filter=Q(state=DeliveryState.SKIPPED)),
        "delivered": Count("delivered_at"),
        "bounced": Count("bounced_at"),
        "complained": Count("complained_at"),
        "unsubscribed": Count("unsubscribed_at"),
    }


def send_figures(*, send_id: int) -> dict[str, int]:
    """Where each recipient of one send stands, and what the provider reported."""
    figures = Delivery.objects.filter(send_id=send_id).aggregate(**_figure_aggregates())
    done = figures["total"] - figures["queued"] - figures["in_flight"]
    figures["done"] = done
    figures["percent"] = round(100 * done / figures["total"]) if figures["total"] else 0
    return figures


def issue_figures(*, issue_id: int) -> dict[str, int]:
    """The same figures for every send of one issue together."""
    return Delivery.objects.filter(issue_id=issue_id).aggregate(**_figure_aggregates())


def send_is_stale(*, send) -> bool:
    """Whether a sending send's workers have been silent for longer than a lease.

    Workers touch `heartbeat_at` after every batch; a send that says "Sending"
    with nobody working on it needs a person to restart its workers.
    """
    if send.status != SendStatus.SENDING or send.heartbeat_at is None:
        return False
    silent = timezone.now() - send.heartbeat_at
    return silent > datetime.timedelta(seconds=settings.NEWSLETTER_CLAIM_LEASE)


def recipient_count(*, issue, mailing_list: MailingList) -> int:
    """How many people a send of `issue` to `mailing_list` would reach now.

    Someone an earlier send skipped or was refused for counts: only a copy
    they have, may have, or are about to get keeps them out.
    """
    return (
        mailable_subscriptions(mailing_list=mailing_list)
        .exclude(
            Exists(
                Delivery.objects.filter(
                    HOLDS_A_COPY,
                    issue_id=issue.pk,
                    subscriber_id=OuterRef("subscriber_id"),
                )
            )
        )
        .count()
    )
