"""Session dates and times as people read them, and blocks that list sessions."""

from django import template
from django.core.cache import cache
from django.urls import reverse
from django.utils.safestring import mark_safe

from home import page_cache
from workshops.formatting import session_day, session_when, time_label, zone_label
from workshops.ical import google_calendar_url
from workshops.models import WorkshopSession
from workshops.selectors import schedule_page
from workshops.selectors import upcoming_sessions as select_upcoming_sessions

register = template.Library()

CARD_TEMPLATE = "workshops/includes/session_card.html"


@register.inclusion_tag("workshops/includes/session_when.html")
def session_when_block(session: WorkshopSession):
    """The day and time in the session's own zone, ready for the visitor's zone."""
    start, end = session.local_start, session.local_end
    return {
        "session": session,
        "day": session_day(session),
        "times": None
        if session.time_to_be_announced
        else f"{time_label(start)}–{time_label(end)}",
        "zone": zone_label(start),
        "start_iso": start.isoformat(),
        "end_iso": end.isoformat(),
    }


@register.simple_tag(takes_context=True)
def session_calendar_urls(context, session: WorkshopSession) -> dict[str, str]:
    """The .ics download and the Google Calendar link for one session."""
    request = context.get("request")
    page_url = session.workshop.get_full_url(request)
    return {
        "ics": reverse("workshops:session_calendar", args=[session.pk]),
        "google": google_calendar_url(session, url=page_url),
    }


@register.inclusion_tag("workshops/tags/upcoming_sessions.html", takes_context=True)
def upcoming_sessions(context, count: int = 4, heading: str = ""):
    """The next sessions of every public workshop, with a link to the schedule."""
    request = context.get("request")
    return {
        "request": request,
        "sessions": select_upcoming_sessions(limit=count),
        "heading": heading,
        "schedule": schedule_page(request),
    }


@register.simple_tag
def session_time_in(session: WorkshopSession, zone: str = "") -> str:
    """One line of date and time, in `zone` (for emails: the buyer's zone)."""
    return session_when(session, zone or None)


def _card_key(session: WorkshopSession, show_workshop, title_level, request) -> str:
    # What a card is drawn from: the session's row, its seats taken, whether
    # it can still be booked (time passes: it starts), and the content
    # generation (its workshop's text and address, the site's; per host, as
    # every fragment). Not the seats generation, which every sale moves: a
    # sale redraws only its own card.
    return page_cache.fragment_key(
        "session-card",
        [
            str(value)
            for value in (
                session.pk,
                session.updated_at.timestamp(),
                session.seats_taken,
                session.is_bookable,
                session.offers_waitlist,
                show_workshop,
                title_level,
            )
        ],
        request,
        scope=page_cache.CONTENT,
    )


@register.simple_tag(takes_context=True)
def session_cards(context, sessions, show_workshop=False, title_level=3) -> str:
    """Each session as a card, the cached ones read in one round trip.

    show_workshop: name and link the workshop (lists that mix workshops);
    title_level: the heading level of that name. A card is the same for every
    visitor (their own time is added in the browser), so it is cached until
    the session, its seats or the site's content change, as long as a page;
    never in a preview, whose sessions may be unsaved, nor with the page cache
    off.
    """
    request = context.get("request")
    cached = page_cache.seconds() > 0 and not getattr(request, "is_preview", False)
    sessions = list(sessions)
    keys = {
        index: _card_key(session, show_workshop, title_level, request)
        for index, session in enumerate(sessions)
        if session.pk and cached
    }
    stored = cache.get_many(list(keys.values())) if keys else {}
    card_template = context.template.engine.get_template(CARD_TEMPLATE)
    cards, drawn = [], {}
    for index, session in enumerate(sessions):
        key = keys.get(index)
        card = stored.get(key) if key else None
        if card is None:
            with context.push(
                session=session, show_workshop=show_workshop, title_level=title_level
            ):
                card = card_template.render(context)
            if key:
                drawn[key] = card
        cards.append(card)
    if drawn:
        # As long as a page: the most the passing of time may lag.
        cache.set_many(drawn, timeout=page_cache.seconds())
    return mark_safe("".join(cards))  # noqa: S308 (rendered by our template)
