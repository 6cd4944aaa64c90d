"""Middleware of the site as a whole: its page cache, security policy, compression."""

import functools
import re

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.gzip import GZipMiddleware
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.defaults import page_not_found
from wagtail import views as wagtail_views
from wagtail.models import Page

from home import page_cache

COMPRESSIBLE_TYPES = (
    "text/",
    "application/json",
    "application/xml",
    "application/rss+xml",
    "application/atom+xml",
    "image/svg+xml",
)


class PublicCSPMiddleware(CSPMiddleware):
    """django-csp's policy, except on Wagtail's page previews.

    A preview runs the page's public address through the middleware, but the
    admin shows it in a frame (which frame-ancestors 'none' would refuse), and
    a newsletter issue's email preview needs the inline styles an email has.
    The admin itself is left out by CONTENT_SECURITY_POLICY's prefixes.
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponse
    ) -> HttpResponse:
        if getattr(request, "is_preview", False) or getattr(request, "is_dummy", False):
            return response
        return super().process_response(request, response)


class PublicGZipMiddleware(GZipMiddleware):
    """gzip for what anyone may see; nothing that could carry a secret.

    BREACH reads a secret out of a compressed response by reflecting guesses
    into it and watching its length. Public pages hold no secret but Django's
    CSRF token, which is masked anew on every response, and Django adds random
    bytes to each gzip header besides. So only GET and HEAD requests without a
    session cookie (nobody signed in, no admin) are compressed, never a response
    marked private or no-store (order, ticket and newsletter links, whose
    pages show their token), and nothing already compressed (WhiteNoise's
    static files are answered before this runs).
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponse
    ) -> HttpResponse:
        # The page cache compresses what it stores, once (PageCacheMiddleware).
        if getattr(request, "page_cache_miss", False):
            return response
        if not self._may_compress(request, response):
            return response
        return super().process_response(request, response)

    @staticmethod
    def _may_compress(request: HttpRequest, response: HttpResponse) -> bool:
        cache_control = response.get("Cache-Control", "")
        return (
            request.method in ("GET", "HEAD")
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and not request.path_info.startswith("/admin/")
            and "private" not in cache_control
            and "no-store" not in cache_control
            and response.get("Content-Type", "").startswith(COMPRESSIBLE_TYPES)
        )


ACCEPTS_GZIP = re.compile(r"\bgzip\b")
# The date each stored page was made, formatted once rather than per request.
stored_date = functools.lru_cache(maxsize=256)(http_date)
# Without one of these a request cannot be answered 304 (or 412).
CONDITIONAL_HEADERS = {
    "HTTP_IF_MATCH",
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
}


class PageCacheMiddleware:
    """Serve anonymous visitors a page every one of them may see, from the cache.

    A request qualifies when home.page_cache.request_is_cacheable says so: GET
    or HEAD, no query string, no cookie but the CSRF one. The first such
    request renders the page; if the response is shareable (a Wagtail page
    or a view that marks itself `page_cacheable`, no personal cookie, not
    private, no nonce) its forms lose their CSRF tokens, it is compressed
    once and stored; every later visitor gets it, or a 304 for the ETag or
    date they already hold, until the generation moves or it expires.
    Everything else passes through untouched. See docs/deploy.md.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.gzip = PublicGZipMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not page_cache.request_is_cacheable(request):
            return self.get_response(request)
        key = page_cache.page_key(request)
        cached = page_cache.fetch(key)
        if cached is not None:
            return self.serve(request, cached, hit=True)
        request.page_cache_miss = True
        response = self.get_response(request)
        cached = page_cache.shareable_copy(
            request, response, compressible=COMPRESSIBLE_TYPES
        )
        request.page_cache_miss = False
        if cached is None:
            return self.gzip.process_response(request, response)
        page_cache.store(key, cached)
        return self.serve(request, cached, hit=False)

    @staticmethod
    def serve(
        request: HttpRequest, cached: page_cache.CachedPage, *, hit: bool
    ) -> HttpResponse:
        gzip = cached.gzipped is not None and ACCEPTS_GZIP.search(
            request.META.get("HTTP_ACCEPT_ENCODING", "")
        )
        # The compressed body is another representation: its tag is weak,
        # as Django's GZipMiddleware makes it.
        etag = f"W/{cached.etag}" if gzip else cached.etag
        response = None
        if CONDITIONAL_HEADERS & request.META.keys():
            response = get_conditional_response(
                request, etag=etag, last_modified=cached.last_modified
            )
        if response is None:
            body = cached.gzipped if gzip else cached.body
            response = HttpResponse(
                b"" if request.method == "HEAD" else body, status=cached.status
            )
            for name, value in cached.headers:
                response[name] = value
            if gzip:
                response["Content-Encoding"] = "gzip"
            response["Content-Length"] = str(len(body))
        else:
            for name, value in cached.headers:
                if name.lower() in ("cache-control", "vary", "expires"):
                    response[name] = value
        response["ETag"] = etag
        response["Last-Modified"] = stored_date(cached.last_modified)
        response["X-Cache"] = "hit" if hit else "miss"
        return response


class PageRouteCacheMiddleware:
    """Find a Wagtail page for its address once per change, not once per request.

    Wagtail looks up the site, then every page on the path, one query each,
    and caches the answer on the request (`_wagtail_site`,
    `_wagtail_route_for_request`, as Wagtail's Site.find_for_request and
    Page.route_for_request document). This keeps that answer in the shared
    cache under the page cache's generation, which publishing, unpublishing
    or moving a page moves on. Privacy is still checked on every request
    (Wagtail's before_serve_page hook).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if view_func is not wagtail_views.serve or request.method not in (
            "GET",
            "HEAD",
        ):
            return None
        # The host is in every fragment's key; Wagtail finds a site by its port too.
        key = page_cache.fragment_key(
            "page-route",
            [request.get_port(), request.path_info],
            request,
            scope=page_cache.CONTENT,
        )
        cached = page_cache.fetch_object(key)
        if cached is not None:
            request._wagtail_site, request._wagtail_route_for_request, sub = cached
            if sub is not None:
                # What RoutablePageMixin.route leaves on the request; Django
                # cannot pickle a ResolverMatch, so it is resolved again
                # (in memory, no query).
                page = request._wagtail_route_for_request.page
                request.routable_resolver_match = page.resolve_subpage(sub)
            return None
        route = Page.route_for_request(request, request.path_info)
        if route is not None:
            page_cache.store_object(
                key, (request._wagtail_site, route, self._subpath(request, route))
            )
        return None

    @staticmethod
    def _subpath(request: HttpRequest, route) -> str | None:
        """The part of the path a routable page resolved itself, else None."""
        if not hasattr(request, "routable_resolver_match"):
            return None
        components = [part for part in request.path_info.split("/") if part]
        root_depth = request._wagtail_site.root_page.depth
        own = route.page.depth - root_depth
        remaining = components[own:]
        return "/" + "".join(f"{part}/" for part in remaining)


class SiteNotFoundMiddleware:
    """With DEBUG on, answer a missing page with the site's own 404.

    Django's technical 404 lists every URL pattern and is far too wide for a
    phone; DEBUG_TECHNICAL_404=true brings it back. With DEBUG off Django
    renders 404.html itself and this does nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def _active() -> bool:
        return settings.DEBUG and not settings.DEBUG_TECHNICAL_404

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # No resolver match: no URL pattern matched, so Django answered with
        # its technical page before any view (or process_exception) ran.
        if (
            response.status_code == 404
            and request.resolver_match is None
            and self._active()
        ):
            return page_not_found(request, Http404())
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, Http404) and self._active():
            return page_not_found(request, exception)
        return None
