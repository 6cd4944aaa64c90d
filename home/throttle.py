"""Counting requests per client in Django's cache, and finding who the client is."""

import ipaddress

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's address, trusting only as many proxies as the settings say.

    X-Forwarded-For is written by whoever sent the request, so only the entries
    our own proxies appended can be believed: with TRUSTED_PROXY_COUNT = 1 that
    is the last one.
    """
    candidate = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def allow(key: str, *, limit: int, window: int) -> bool:
    """Count one more use of `key`; False once `limit` uses fall in one window."""
    cache_key = f"throttle:{key}"
    # add() only sets a missing key, so the window starts at the first use and
    # is not pushed back by later ones.
    cache.add(cache_key, 0, timeout=window)
    try:
        count = cache.incr(cache_key)
    except ValueError:
        # The key expired between add() and incr().
        cache.set(cache_key, 1, timeout=window)
        count = 1
    return count <= limit


def allow_client(request: HttpRequest, scope: str, *, limit: int, window: int) -> bool:
    """`allow` for one client of one kind of request (`scope`), by its address."""
    return allow(f"{scope}:{client_ip(request)}", limit=limit, window=window)
