"""The shared page cache: whole public pages and fragments, and what clears them.

Everything cached here is keyed by one *generation* number kept in the
configured cache (Redis when several machines serve the site, which pushes it
to every process so that a request need not ask for it). Publishing,
unpublishing or moving a page, editing a snippet the pages show, or taking
seats moves the generation on once the transaction commits, and every machine
then misses the old entries, which expire by themselves. docs/deploy.md
("The page cache") describes the mechanism and its guarantees.
"""

import functools
import hashlib
import pickle
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.text import compress_string

GENERATION_KEY = "page-cache:generation"
CSRF_FIELD = "csrfmiddlewaretoken"
CSRF_ALLOWED_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# A form's token field, with the value in either attribute order.
CSRF_INPUT = re.compile(
    r"(<input\b[^>]*?\bname=[\"']" + CSRF_FIELD + r"[\"'][^>]*?\bvalue=[\"'])"
    r"[^\"']*([\"'])"
    r"|(<input\b[^>]*?\bvalue=[\"'])[^\"']*([\"'][^>]*?\bname=[\"']"
    + CSRF_FIELD
    + r"[\"'])",
    re.IGNORECASE,
)
MASKED_TOKEN = re.compile(rb"[a-zA-Z0-9]{64}")
# What a stored page keeps of its headers: the rest is the server's or per
# response (cookies, lengths, encodings, the security headers added outside).
DROPPED_HEADERS = {"set-cookie", "content-length", "content-encoding", "x-cache"}
MIN_COMPRESSED_LENGTH = 200
# Entries each process keeps of what it read from the shared cache.
LOCAL_ENTRIES = 300


def seconds() -> int:
    """How long a page or fragment stays cached: the most a change can lag."""
    return settings.PAGE_CACHE_SECONDS


# Two numbers, because sales are far more frequent than edits: CONTENT moves
# on every change of what pages show, SEATS only when seats are taken or
# freed. What shows seats left is keyed by both, the rest by CONTENT alone, so
# a sale redraws the dates and not the header, footer or page bodies.
CONTENT = "content"
SEATS = "seats"
SCOPES = {CONTENT: GENERATION_KEY, SEATS: "page-cache:seats-generation"}


class Generation(NamedTuple):
    """Where the cache is: both numbers, read once per request."""

    content: int
    seats: int

    def key(self, scope: str) -> str:
        return f"{self.content}" if scope == CONTENT else f"{self.content}.{self.seats}"


@functools.cache
def _counter(scope: str):
    # A cache that can push the number to every process (config.cache's
    # SharedRedisCache) saves each request a round trip; any other is read.
    # One per process: forgotten when a test changes the caches.
    pushed = getattr(cache, "pushed_counter", None)
    return pushed(SCOPES[scope]) if pushed is not None else None


@receiver(setting_changed)
def _caches_changed(*, setting: str, **kwargs) -> None:
    if setting == "CACHES":
        _counter.cache_clear()


def generation(request: HttpRequest | None = None) -> Generation:
    """The current generation, read once per request."""
    if request is not None and hasattr(request, "_page_cache_generation"):
        return request._page_cache_generation
    value = Generation(*(_current(scope) for scope in (CONTENT, SEATS)))
    if request is not None:
        request._page_cache_generation = value
    return value


def _current(scope: str) -> int:
    counter = _counter(scope)
    if counter is not None:
        return counter.value()
    value = cache.get(SCOPES[scope])
    if value is None:
        # Started from the clock, so a flushed cache never brings back the
        # numbers of entries that may still be stored.
        cache.add(SCOPES[scope], time.time_ns() // 1000, timeout=None)
        value = cache.get(SCOPES[scope])
    return value


def _advance(scope: str = CONTENT) -> None:
    counter = _counter(scope)
    if counter is not None:
        counter.advance()
        return
    try:
        cache.incr(SCOPES[scope])
    except ValueError:
        # Evicted or never set: a new clock-based number is as good.
        cache.set(SCOPES[scope], time.time_ns() // 1000, timeout=None)


def page_cache_invalidate(*, scope: str = CONTENT) -> None:
    """Make cached pages and fragments stale once the transaction commits.

    CONTENT makes everything stale; SEATS (seats taken or freed) only what
    shows seats left, and whole pages. After the commit, not before: a page
    rendered meanwhile from the old rows is stored under the old generation,
    which nobody reads any more.
    """
    transaction.on_commit(functools.partial(_advance, scope), robust=True)


def fragment_key(
    name: str, vary_on: list[str], request: HttpRequest | None, *, scope: str = SEATS
) -> str:
    """The key of a shared part: SEATS if it may show seats left, else CONTENT.

    Drawn for a request, it is kept per host: each Wagtail site has its own
    settings, menu and links (another site's pages are linked in full).
    """
    if request is not None:
        vary_on = [request.get_host(), *vary_on]
    digest = hashlib.sha256("\x1f".join(vary_on).encode()).hexdigest()[:32]
    return f"fragment:{generation(request).key(scope)}:{name}:{digest}"


class LocalCopies:
    """The entries this process last read, so a page costs one round trip.

    Every key carries the generation, so an entry never changes once written:
    a copy is good until the entry itself would expire in the shared cache.
    """

    def __init__(self, size: int):
        self.size = size
        self.entries: OrderedDict[str, tuple[float, object]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            if entry[0] < time.time():
                del self.entries[key]
                return None
            self.entries.move_to_end(key)
            return entry[1]

    def put(self, key: str, value, *, expires: float) -> None:
        with self.lock:
            self.entries[key] = (expires, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


local_copies = LocalCopies(LOCAL_ENTRIES)


def fetch_value(key: str):
    """A value stored under the generation, from this process or the cache."""
    if seconds() <= 0:
        return None
    value = local_copies.get(key)
    if value is not None:
        return value
    stored = cache.get(key)
    if not isinstance(stored, tuple) or len(stored) != 2:
        return None
    created, value = stored
    local_copies.put(key, value, expires=created + seconds())
    return value


def store_value(key: str, value) -> None:
    if seconds() <= 0:
        return
    created = time.time()
    cache.set(key, (created, value), timeout=seconds())
    local_copies.put(key, value, expires=created + seconds())


def shared_value(
    name: str, vary_on: list[str], request, compute, *, scope: str = SEATS
):
    """`compute()`, cached like a fragment: for values every page reads.

    A value of None is never stored (it reads as a miss).
    """
    if seconds() <= 0 or getattr(request, "is_preview", False):
        return compute()
    key = fragment_key(name, vary_on, request, scope=scope)
    value = fetch_value(key)
    if value is None:
        value = compute()
        store_value(key, value)
    return value


def fetch_object(key: str):
    """An object kept pickled, so no two requests share one instance."""
    data = fetch_value(key)
    return pickle.loads(data) if data is not None else None  # noqa: S301 (our own)


def store_object(key: str, value) -> None:
    try:
        data = pickle.dumps(value)
    except (pickle.PicklingError, TypeError, AttributeError):
        return
    store_value(key, data)


def request_is_cacheable(request: HttpRequest) -> bool:
    """An anonymous GET or HEAD without a query string, outside the admin.

    Any cookie but the CSRF one (a session, messages) may make the page
    personal, so such a request is rendered for its visitor alone.
    """
    return (
        seconds() > 0
        and request.method in ("GET", "HEAD")
        and not request.META.get("QUERY_STRING")
        and not request.path_info.startswith(settings.PAGE_CACHE_EXCLUDED_PREFIXES)
        and "HTTP_AUTHORIZATION" not in request.META
        and set(request.COOKIES) <= {settings.CSRF_COOKIE_NAME}
    )


def page_key(request: HttpRequest) -> str:
    where = f"{request.scheme}://{request.get_host()}{request.path}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:40]
    return f"page:{generation(request).key(SEATS)}:{digest}"


@dataclass
class CachedPage:
    """A response as it is served to every anonymous visitor."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    etag: str
    last_modified: int
    gzipped: bytes | None = None
    vary: list[str] = field(default_factory=list)


def _is_shareable(request: HttpRequest, response: HttpResponse) -> bool:
    cache_control = response.get("Cache-Control", "").lower()
    cookies = set(response.cookies) - {settings.CSRF_COOKIE_NAME}
    page_served = (
        request.resolver_match is not None
        and request.resolver_match.url_name == "wagtail_serve"
    )
    return (
        response.status_code == 200
        and not response.streaming
        and (page_served or getattr(response, "page_cacheable", False))
        and not getattr(request, "is_preview", False)
        and not cookies
        and not any(
            word in cache_control for word in ("private", "no-store", "no-cache")
        )
        # A nonce shared by every visitor would be no nonce at all.
        and "'nonce-" not in response.get("Content-Security-Policy", "")
    )


def _unmask(token: str) -> str:
    # Django's masking (django.middleware.csrf): mask, then secret + mask.
    mask, cipher = token[:32], token[32:]
    pairs = zip(
        (CSRF_ALLOWED_CHARS.index(x) for x in cipher),
        (CSRF_ALLOWED_CHARS.index(x) for x in mask),
        strict=True,
    )
    return "".join(CSRF_ALLOWED_CHARS[x - y] for x, y in pairs)


def holds_secret_token(content: bytes, request: HttpRequest) -> bool:
    """Whether a token masked from this visitor's CSRF secret is left anywhere."""
    secret = request.META.get("CSRF_COOKIE")
    if not secret:
        return False
    return any(
        _unmask(match.decode()) == secret for match in MASKED_TOKEN.findall(content)
    )


def strip_csrf_tokens(html: str) -> str:
    """Empty every form's CSRF field: site/static/js/csrf.js fills it on submit."""
    if CSRF_FIELD not in html:
        return html
    return CSRF_INPUT.sub(
        lambda m: (m[1] + m[2]) if m[1] is not None else (m[3] + m[4]), html
    )


def shareable_copy(
    request: HttpRequest, response: HttpResponse, *, compressible: tuple[str, ...]
) -> CachedPage | None:
    """The response as every visitor may see it, or None if it may be personal."""
    if not _is_shareable(request, response):
        return None
    body = response.content
    if CSRF_FIELD.encode() in body:
        body = strip_csrf_tokens(body.decode(response.charset)).encode(response.charset)
    # Belt and braces: a token anywhere else (a data attribute, a script)
    # would hand this visitor's token to everyone.
    if holds_secret_token(body, request):
        return None
    patch_vary_headers(response, ("Cookie", "Accept-Encoding"))
    headers = [
        (name, value)
        for name, value in response.items()
        if name.lower() not in DROPPED_HEADERS
    ]
    if not response.has_header("Cache-Control"):
        # Browsers ask again each time and get a 304 while nothing changed.
        headers.append(("Cache-Control", "max-age=0, public"))
    etag = response.get("ETag") or f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = [(name, value) for name, value in headers if name.lower() != "etag"]
    compress = response.get("Content-Type", "").startswith(compressible)
    return CachedPage(
        status=response.status_code,
        headers=headers,
        body=body,
        etag=etag.removeprefix("W/"),
        last_modified=int(time.time()),
        gzipped=compress_string(body)
        if compress and len(body) >= MIN_COMPRESSED_LENGTH
        else None,
    )


def store(key: str, page: CachedPage) -> None:
    store_value(key, page)


def fetch(key: str) -> CachedPage | None:
    page = fetch_value(key)
    return page if isinstance(page, CachedPage) else None
