"""Calendar downloads: one session, or the feed of every public session."""

import hashlib

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_GET

from home import page_cache
from home.models import SiteSettings

from ..ical import session_filename, session_ics, sessions_ics
from ..selectors import feed_sessions, public_sessions

CALENDAR_CONTENT_TYPE = "text/calendar; charset=utf-8"


@require_GET
def calendar_feed(request: HttpRequest) -> HttpResponse:
    """Every public session, for calendar apps to subscribe to."""

    def build() -> bytes:
        site_settings = SiteSettings.for_request(request)
        name = f"{site_settings.organisation_name or 'Workshop'} dates".strip()
        return sessions_ics(
            [
                (session, session.workshop.get_full_url(request))
                for session in feed_sessions()
            ],
            name=name,
        )

    # Built once per change for every visitor, signed in or not.
    body = page_cache.shared_value(
        "calendar-feed", [request.scheme, request.get_host()], request, build
    )
    response = calendar_response(request, body, filename="workshops.ics", max_age=900)
    # The same for everyone: served from the page cache until a change.
    response.page_cacheable = True
    return response


@require_GET
def session_calendar(request: HttpRequest, pk: int) -> HttpResponse:
    """One session as a calendar file to open or import."""
    session = get_object_or_404(public_sessions(), pk=pk)
    body = session_ics(session, url=session.workshop.get_full_url(request))
    return calendar_response(
        request, body, filename=session_filename(session), max_age=300, attachment=True
    )


def calendar_response(
    request: HttpRequest,
    body: bytes,
    *,
    filename: str,
    max_age: int,
    attachment: bool = False,
    private: bool = False,
) -> HttpResponse:
    # Calendar apps poll the feed; an ETag lets them get a 304 when nothing moved.
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = HttpResponse(body, content_type=CALENDAR_CONTENT_TYPE)
        disposition = "attachment" if attachment else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["ETag"] = etag
    if private:
        patch_cache_control(response, private=True, no_store=True)
    else:
        patch_cache_control(response, public=True, max_age=max_age)
    return response
