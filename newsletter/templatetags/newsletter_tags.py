"""The sign-up form, for any template: the footer, a home-page block, a page."""

from django import template
from django.urls import reverse

from newsletter.forms import SignupForm
from newsletter.models import ConsentText, NewsletterSettings

register = template.Library()


def _next_form_number(request) -> int:
    # Several forms can share a page (footer and a block): ids must not clash.
    if request is None:
        return 1
    number = getattr(request, "_newsletter_form_count", 0) + 1
    request._newsletter_form_count = number
    return number


@register.inclusion_tag("newsletter/tags/signup_form.html", takes_context=True)
def newsletter_signup_form(context, source="footer", heading="", form=None):
    """The sign-up form, posting to the newsletter's subscribe view.

    `source` (lower-case letters, digits, '-' or '_') is recorded with the
    consent, so staff can tell the footer from a home-page block; `heading` is
    shown as an h2 when given. Renders nothing while no list is public.
    """
    request = context.get("request")
    settings = NewsletterSettings.for_request(request) if request else None
    consent_text = settings.consent_text if settings else ""
    number = _next_form_number(request)
    # An undefined `form` in the calling template arrives as "".
    if not isinstance(form, SignupForm):
        form = SignupForm(
            initial={"source": source},
            consent_digest=ConsentText.digest_of(consent_text),
            auto_id=f"nl-{number}-%s",
        )
    return {
        "form": form,
        "heading": heading,
        "heading_id": f"nl-{number}-heading",
        "source": source,
        "consent_text": consent_text,
        "action": reverse("newsletter:subscribe"),
        "has_lists": bool(getattr(form, "offered_lists", True)),
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
