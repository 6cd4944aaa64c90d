"""Calendar downloads: one session, or the feed of every public session."""

import hashlib

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_GET

from home import page_cache
from home.models import SiteSettings

from ..ical import session_event, session_filename, session_ics, sessions_ics
from ..models import WorkshopSession
from ..selectors import feed_sessions, public_sessions

CALENDAR_CONTENT_TYPE = "text/calendar; charset=utf-8"


@require_GET
def calendar_feed(request: HttpRequest) -> HttpResponse:
    """Every public session, for calendar apps to subscribe to."""

    def build() -> bytes:
        site_settings = SiteSettings.for_request(request)
        name = f"{site_settings.organisation_name or 'Workshop'} dates".strip()
        sessions = feed_sessions()
        # One address per workshop page, not per session.
        urls = {
            session.workshop_id: session.workshop.get_full_url(request)
            for session in sessions
        }
        return feed_ics(
            [(session, urls[session.workshop_id]) for session in sessions], name=name
        )

    # Built once per change for every visitor, signed in or not.
    # It shows no seats left, so a sale leaves it be.
    body = page_cache.shared_value(
        "calendar-feed",
        [request.scheme],  # and the host, as every fragment
        request,
        build,
        scope=page_cache.CONTENT,
    )
    response = calendar_response(request, body, filename="workshops.ics", max_age=900)
    # The same for everyone: served from the page cache until a change.
    response.page_cacheable = True
    return response


def _event_key(session: WorkshopSession, url: str) -> str:
    # Everything a VEVENT is drawn from: the session's own row (saved or given
    # a new SEQUENCE), its workshop's published text and the page's address.
    workshop = session.workshop
    published = (
        workshop.last_published_at.timestamp() if workshop.last_published_at else ""
    )
    parts = [
        str(session.pk),
        str(session.sequence),
        session.updated_at.isoformat(),
        str(workshop.pk),
        str(published),
        url,
    ]
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"feed-event:{session.pk}:{digest}"


def feed_ics(sessions: list[tuple[WorkshopSession, str]], *, name: str) -> bytes:
    """`sessions_ics`, with each session's VEVENT kept between changes.

    A sale moves the page cache's generation but changes no event, so after
    one only the calendar's frame and its time zones are drawn again: the
    events come from the cache under keys of what they are drawn from, and
    the feed costs about the same at 70 sessions as at 300.
    """
    if not sessions:
        return sessions_ics(sessions, name=name)
    keys = [_event_key(session, url) for session, url in sessions]
    stored = cache.get_many(keys) if page_cache.seconds() > 0 else {}
    missing = {}
    events = []
    for key, (session, url) in zip(keys, sessions, strict=True):
        event = stored.get(key)
        if event is None:
            event = missing[key] = session_event(session, url=url).to_ical()
        events.append(event)
    if missing and page_cache.seconds() > 0:
        cache.set_many(missing, timeout=page_cache.seconds())
    return _frame_head(sessions, name=name) + b"".join(events) + b"END:VCALENDAR\r\n"


def _frame_head(sessions: list[tuple[WorkshopSession, str]], *, name: str) -> bytes:
    """The calendar's properties and VTIMEZONEs, up to its first event.

    They depend only on the name, the zones used and the first and last dates
    (which bound the zones' transitions, the slow part): drawn from a few
    sessions that have them all, and kept under a key of those.
    """
    framing = _framing(sessions)
    zones = sorted({session.time_zone for session, _ in framing[4:]})
    days = sorted(session.date for session, _ in sessions)
    parts = [name, *zones, days[0].isoformat(), days[-1].isoformat()]
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    key = f"feed-frame:{digest}"
    head = cache.get(key) if page_cache.seconds() > 0 else None
    if head is None:
        frame = sessions_ics(framing, name=name)
        head = frame[: frame.index(b"BEGIN:VEVENT\r\n")]
        if page_cache.seconds() > 0:
            cache.set(key, head, timeout=page_cache.seconds())
    return head


def _framing(
    sessions: list[tuple[WorkshopSession, str]],
) -> list[tuple[WorkshopSession, str]]:
    """The first and last session (by day), then one of each zone with a time."""
    by_day = sorted(sessions, key=lambda pair: pair[0].date)
    chosen = {0: sessions[0], 1: sessions[-1], 2: by_day[0], 3: by_day[-1]}
    for session, url in sessions:
        if not session.time_to_be_announced:
            chosen.setdefault(session.time_zone, (session, url))
    return list(chosen.values())


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
