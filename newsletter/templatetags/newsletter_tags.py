"""The sign-up form, for any template: the footer, a home-page block, a page."""

import copy

from django import template
from django.urls import reverse

from newsletter.forms import SignupForm
from newsletter.models import ConsentText, NewsletterSettings
from newsletter.rendering import full_url, html_to_text
from workshops.formatting import session_when
from workshops.models import SessionStatus
from workshops.selectors import schedule_page, upcoming_sessions

register = template.Library()


def _next_form_number(request) -> int:
    # Several forms can share a page (footer and a block): ids must not clash.
    if request is None:
        return 1
    number = getattr(request, "_newsletter_form_count", 0) + 1
    request._newsletter_form_count = number
    return number


def _blank_form(request, *, source: str, consent_digest: str, auto_id: str):
    """An empty sign-up form; a second one on the page shares the first's lists.

    The form reads the public lists when it is made: a page with two forms (a
    block and the footer) would read them twice. Unbound forms only render,
    so the second is the first with its own ids and source.
    """
    first = getattr(request, "_newsletter_blank_form", None)
    if first is None or first.consent_digest != consent_digest:
        form = SignupForm(
            initial={"source": source}, consent_digest=consent_digest, auto_id=auto_id
        )
        if request is not None:
            request._newsletter_blank_form = form
        return form
    form = copy.copy(first)
    form.initial = {"source": source}
    form.auto_id = auto_id
    form._bound_fields_cache = {}
    return form


@register.inclusion_tag("newsletter/tags/signup_form.html", takes_context=True)
def newsletter_signup_form(context, source="footer", heading="", form=None, prefix=""):
    """The sign-up form, posting to the newsletter's subscribe view.

    `source` (lower-case letters, digits, '-' or '_') is recorded with the
    consent, so staff can tell the footer from a home-page block; `heading` is
    shown as an h2 when given; `prefix` fixes the ids of a form drawn once
    and shared by every page (the footer). Renders nothing while no list is
    public.
    """
    request = context.get("request")
    # Usually already read with the site's own settings (home.selectors).
    settings = NewsletterSettings.for_request(request) if request else None
    consent_text = settings.consent_text if settings else ""
    number = prefix or f"nl-{_next_form_number(request)}"
    # An undefined `form` in the calling template arrives as "".
    if not isinstance(form, SignupForm):
        form = _blank_form(
            request,
            source=source,
            consent_digest=ConsentText.digest_of(consent_text),
            auto_id=f"{number}-%s",
        )
    return {
        "form": form,
        "heading": heading,
        "heading_id": f"{number}-heading",
        "source": source,
        "consent_text": consent_text,
        "action": reverse("newsletter:subscribe"),
        "has_lists": bool(getattr(form, "offered_lists", True)),
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }


@register.filter
def email_text(html) -> str:
    """Rich text (already expanded with `richtext`) as plain text for an email."""
    return html_to_text(str(html))


@register.simple_tag
def email_sessions(count: int = 4) -> dict:
    """The next workshop dates for an email: each in its own time zone, full URLs.

    An email cannot run the site's script that converts times to the reader's
    zone, so it names the zone and links to the schedule, which does.
    """
    shown = {SessionStatus.TENTATIVE, SessionStatus.SOLD_OUT, SessionStatus.CANCELLED}
    schedule = schedule_page()
    return {
        "sessions": [
            {
                "title": session.workshop.title,
                "url": full_url(session.workshop),
                "when": session_when(session),
                "status": session.get_status_display()
                if session.status in shown
                else "",
            }
            for session in upcoming_sessions(limit=count)
        ],
        "schedule_url": full_url(schedule) if schedule else "",
    }


@register.filter
def email_url(page) -> str:
    """A page's full address for an email."""
    return full_url(page.specific) if page else ""
