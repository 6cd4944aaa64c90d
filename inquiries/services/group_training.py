"""Group-training requests: received, moved through their statuses, annotated."""

import zoneinfo
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from wagtail.log_actions import log

from ..models import (
    GROUP_SIZE_MAX,
    GROUP_SIZE_MIN,
    STATUS_ACTIONS,
    GroupTrainingRequest,
    InquiryPage,
    StatusChangeError,
)
from ..months import month_from_key, month_label
from .mail import inquiry_notify


def _check_choices(
    *, months: Sequence[str], time_zones: Sequence[str], group_size: int
) -> None:
    """The form checks these for people; this keeps other callers honest too."""
    if not months or not time_zones:
        raise ValidationError("A request needs at least one month and one zone.")
    try:
        for key in months:
            month_from_key(key)
    except ValueError:
        raise ValidationError("Months are written YYYY-MM.") from None
    unknown = set(time_zones) - zoneinfo.available_timezones()
    if unknown:
        raise ValidationError(f"Unknown time zones: {', '.join(sorted(unknown))}.")
    if not GROUP_SIZE_MIN <= group_size <= GROUP_SIZE_MAX:
        raise ValidationError("The group size is out of range.")


def group_training_request_create(
    *,
    organisation: str,
    name: str,
    email: str,
    months: Sequence[str],
    time_zones: Sequence[str],
    group_size: int,
    message: str = "",
    page: InquiryPage | None = None,
) -> GroupTrainingRequest:
    """Store a request, tell staff, and acknowledge it to the sender."""
    _check_choices(months=months, time_zones=time_zones, group_size=group_size)
    with transaction.atomic():
        inquiry = GroupTrainingRequest(
            organisation=organisation,
            name=name,
            email=email,
            months=list(months),
            time_zones=list(time_zones),
            group_size=group_size,
            message=message,
        )
        inquiry.full_clean()
        inquiry.save()
        log(instance=inquiry, action="inquiries.request.received")
        inquiry_notify(
            inquiry=inquiry,
            page=page,
            template="inquiries/emails/request",
            admin_url_name="inquiries_requests:inspect",
            context={
                "inquiry": inquiry,
                "months": [month_label(key) for key in inquiry.months],
                "time_zones": inquiry.time_zones,
                "group_size": inquiry.group_size,
            },
        )
    return inquiry


def group_training_request_change_status(
    *, request_id: int, action: str, user: AbstractBaseUser | None
) -> GroupTrainingRequest:
    """Apply one of `STATUS_ACTIONS` (by slug) to a request, and log it."""
    if action not in STATUS_ACTIONS:
        raise StatusChangeError(f"There is no status change called {action!r}.")
    status_action = STATUS_ACTIONS[action]
    with transaction.atomic():
        inquiry = GroupTrainingRequest.objects.select_for_update().get(pk=request_id)
        getattr(inquiry, status_action.method)()
        inquiry.save(update_fields=["status", "status_changed_at"])
        log(instance=inquiry, action=status_action.log_action, user=user)
    return inquiry
