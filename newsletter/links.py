"""Signed personal links: confirm, preferences and one-click unsubscribe.

A link carries the subscriber's key and, where it matters, the lists, signed with
Django's signing (salted per purpose, so one kind of link never works as
another). Confirmation links expire; preference and unsubscribe links must keep
working from any old email, so they do not.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Subscriber

CONFIRM_SALT = "newsletter.confirm"
PREFERENCES_SALT = "newsletter.preferences"
UNSUBSCRIBE_SALT = "newsletter.unsubscribe"


class BadLink(Exception):
    """The link was altered, forged, or is too old."""


@dataclass(frozen=True)
class LinkData:
    """What a valid link says: whose it is and, for some links, which lists."""

    subscriber_id: int
    list_ids: tuple[int, ...] | None


def _dumps(salt: str, subscriber: Subscriber, list_ids: Sequence[int] | None) -> str:
    payload: dict = {"s": subscriber.pk}
    if list_ids is not None:
        payload["l"] = sorted(set(list_ids))
    return signing.dumps(payload, salt=salt, compress=True)


def _loads(salt: str, token: str, *, max_age: int | None = None) -> LinkData:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
        subscriber_id = int(payload["s"])
        lists = payload.get("l")
        list_ids = None if lists is None else tuple(int(pk) for pk in lists)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        # SignatureExpired is a BadSignature: an old link is as good as none.
        raise BadLink from None
    return LinkData(subscriber_id=subscriber_id, list_ids=list_ids)


def _absolute(path: str) -> str:
    return f"{settings.BASE_URL}{path}"


def confirm_url(subscriber: Subscriber, list_ids: Sequence[int]) -> str:
    token = _dumps(CONFIRM_SALT, subscriber, list_ids)
    return _absolute(reverse("newsletter:confirm", args=[token]))


def read_confirm_token(token: str) -> LinkData:
    return _loads(CONFIRM_SALT, token, max_age=settings.NEWSLETTER_CONFIRMATION_MAX_AGE)


def preferences_url(subscriber: Subscriber, *, absolute: bool = True) -> str:
    """The personal preferences page; absolute for emails, a path for pages."""
    token = _dumps(PREFERENCES_SALT, subscriber, None)
    path = reverse("newsletter:preferences", args=[token])
    return _absolute(path) if absolute else path


def read_preferences_token(token: str) -> LinkData:
    return _loads(PREFERENCES_SALT, token)


def unsubscribe_url(
    subscriber: Subscriber, list_ids: Sequence[int] | None = None
) -> str:
    """The RFC 8058 one-click URL: from the given lists, or from all of them."""
    token = _dumps(UNSUBSCRIBE_SALT, subscriber, list_ids)
    return _absolute(reverse("newsletter:unsubscribe", args=[token]))


def read_unsubscribe_token(token: str) -> LinkData:
    return _loads(UNSUBSCRIBE_SALT, token)


def unsubscribe_headers(
    subscriber: Subscriber, list_ids: Sequence[int] | None = None
) -> dict[str, str]:
    """The headers that let mail clients offer a one-click unsubscribe button."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(subscriber, list_ids)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
