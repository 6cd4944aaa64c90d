"""Signed personal links: confirm, preferences and one-click unsubscribe.

A link carries the subscriber's id and link key and, where it matters, the
lists, signed with Django's signing (salted per purpose, so one kind of link
never works as another). Confirmation links expire; preference and unsubscribe
links keep working from any old email until the person signs out of all links,
which gives them a new link key (`services.subscriber_sign_out_links`); an old
unsubscribe link still unsubscribes then, and shows nothing else.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

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
    # The issue delivery an unsubscribe link came in, for that issue's figures.
    delivery_id: int | None = None
    link_key: str = ""

    def subscriber(self) -> Subscriber | None:
        """Whose link it is, while their link key is still the one it carries."""
        subscriber = self.subscriber_any_key()
        return subscriber if subscriber and self.is_current(subscriber) else None

    def subscriber_any_key(self) -> Subscriber | None:
        """Whose link it is, even if they have signed out of it since."""
        return Subscriber.objects.filter(pk=self.subscriber_id).first()

    def is_current(self, subscriber: Subscriber) -> bool:
        """Whether the link carries the person's present link key."""
        return subscriber.link_key == self.link_key


def _dumps(
    salt: str,
    subscriber_id: int,
    link_key: str,
    list_ids: Sequence[int] | None,
    delivery_id: int | None = None,
) -> str:
    payload: dict = {"s": subscriber_id}
    if link_key:
        payload["k"] = link_key
    if list_ids is not None:
        payload["l"] = sorted(set(list_ids))
    if delivery_id is not None:
        payload["d"] = delivery_id
    return signing.dumps(payload, salt=salt, compress=True)


def _loads(salt: str, token: str, *, max_age: int | None = None) -> LinkData:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
        subscriber_id = int(payload["s"])
        lists = payload.get("l")
        list_ids = None if lists is None else tuple(int(pk) for pk in lists)
        delivery_id = int(payload["d"]) if "d" in payload else None
        link_key = str(payload.get("k", ""))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        # SignatureExpired is a BadSignature: an old link is as good as none.
        raise BadLink from None
    return LinkData(
        subscriber_id=subscriber_id,
        list_ids=list_ids,
        delivery_id=delivery_id,
        link_key=link_key,
    )


def _absolute(path: str) -> str:
    return f"{settings.BASE_URL}{path}"


def confirm_url(subscriber: Subscriber, list_ids: Sequence[int]) -> str:
    token = _dumps(CONFIRM_SALT, subscriber.pk, subscriber.link_key, list_ids)
    return _absolute(reverse("newsletter:confirm", args=[token]))


def read_confirm_token(token: str) -> LinkData:
    return _loads(CONFIRM_SALT, token, max_age=settings.NEWSLETTER_CONFIRMATION_MAX_AGE)


def preferences_url(subscriber: Subscriber, *, absolute: bool = True) -> str:
    """The personal preferences page; absolute for emails, a path for pages."""
    token = _dumps(PREFERENCES_SALT, subscriber.pk, subscriber.link_key, None)
    path = reverse("newsletter:preferences", args=[token])
    return _absolute(path) if absolute else path


def read_preferences_token(token: str) -> LinkData:
    return _loads(PREFERENCES_SALT, token)


def unsubscribe_url(
    subscriber: Subscriber, list_ids: Sequence[int] | None = None
) -> str:
    """The RFC 8058 one-click URL: from the given lists, or from all of them."""
    token = _dumps(UNSUBSCRIBE_SALT, subscriber.pk, subscriber.link_key, list_ids)
    return _absolute(reverse("newsletter:unsubscribe", args=[token]))


@lru_cache(maxsize=8)
def _path_prefix(name: str) -> str:
    # Reversing once and appending tokens keeps a 100,000-recipient send from
    # resolving the URLconf 200,000 times.
    marker = "TOKEN"
    path = reverse(name, args=[marker])
    return path[: path.index(marker)]


def issue_links(
    *, subscriber_id: int, link_key: str, list_id: int, delivery_id: int | None
) -> tuple[str, str]:
    """The one-click unsubscribe and preferences URLs for one recipient of an issue.

    The unsubscribe link names the delivery, so an unsubscribe from it counts
    in that issue's figures.
    """
    unsubscribe = _dumps(
        UNSUBSCRIBE_SALT, subscriber_id, link_key, [list_id], delivery_id
    )
    preferences = _dumps(PREFERENCES_SALT, subscriber_id, link_key, None)
    return (
        f"{settings.BASE_URL}{_path_prefix('newsletter:unsubscribe')}{unsubscribe}/",
        f"{settings.BASE_URL}{_path_prefix('newsletter:preferences')}{preferences}/",
    )


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
