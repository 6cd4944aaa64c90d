"""Middleware of the site as a whole: its security policy, compression, a local 404."""

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.gzip import GZipMiddleware
from django.views.defaults import page_not_found

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
