"""The one way the site sends an email.

Every email is three templates, `<name>_subject.txt`, `<name>.txt` and
`<name>.html`, whose bodies extend `emails/base.txt` and `emails/base.html`. The
message goes through Django's email API, so whichever backend EMAIL_BACKEND names
(SMTP, the console, or any anymail provider) carries it.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template import Context
from django.template.loader import get_template, render_to_string
from wagtail.models import Site

from .mail_providers import carries_calendar_alternative
from .models import SiteSettings


@dataclass(frozen=True)
class Attachment:
    """A file to attach, such as a calendar entry."""

    filename: str
    content: bytes
    mimetype: str


@dataclass(frozen=True)
class CalendarInvite:
    """An iTIP message (RFC 5546) for a calendar app to act on, sent as iMIP.

    RFC 6047 carries it as a `text/calendar; method=...` part whose method
    matches the METHOD inside; it goes in the multipart/alternative beside the
    text and HTML (where Gmail, Outlook and Apple Mail look for it), and once
    more as an `.ics` attachment for clients that only offer attachments.
    """

    method: str
    content: bytes
    filename: str = "invite.ics"


def email_context(*, site: Site | None = None) -> dict[str, Any]:
    """What every email template may use: the site's settings and its base URL."""
    site = site or Site.objects.filter(is_default_site=True).first()
    return {
        "site_settings": SiteSettings.for_site(site) if site else None,
        "base_url": settings.BASE_URL,
    }


def render_templated_email(
    *,
    template: str,
    to: Sequence[str],
    context: Mapping[str, Any] | None = None,
    attachments: Sequence[Attachment] = (),
    headers: Mapping[str, str] | None = None,
    reply_to: Sequence[str] = (),
    from_email: str | None = None,
    site: Site | None = None,
    invite: CalendarInvite | None = None,
) -> EmailMultiAlternatives:
    """Render the three templates of `template` into a message, without sending it."""
    full_context = {**email_context(site=site), **(context or {})}
    # A subject is plain text (no HTML escaping: "Q&A" stays "Q&A") on one
    # line: collapsing whitespace keeps a stray newline in a template from
    # becoming a header injection error.
    subject_template = get_template(f"{template}_subject.txt").template
    subject = " ".join(
        subject_template.render(Context(full_context, autoescape=False)).split()
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", full_context),
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=list(to),
        reply_to=list(reply_to),
        headers=dict(headers or {}),
    )
    message.attach_alternative(
        render_to_string(f"{template}.html", full_context), "text/html"
    )
    if invite is not None:
        # Django makes "text/<subtype>" parts from the subtype it is given, so
        # the method parameter rides along: text/calendar; method=REQUEST.
        calendar_type = f"text/calendar; method={invite.method}"
        if carries_calendar_alternative(settings.EMAIL_BACKEND):
            message.attach_alternative(invite.content.decode(), calendar_type)
            message.attach(invite.filename, invite.content, "application/ics")
        else:
            message.attach(invite.filename, invite.content, calendar_type)
    for attachment in attachments:
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    return message


def send_templated_email(**kwargs: Any) -> EmailMultiAlternatives:
    """Render an email now and send it once the current transaction commits.

    Takes the keyword arguments of `render_templated_email`. Rendering happens at
    once, so the message shows the data as the caller saw it; sending waits for
    the commit, so a rolled-back change never announces itself.
    """
    message = render_templated_email(**kwargs)
    # robust: the change that asked for this email has committed and failing the
    # request now would not undo it; Django logs the error for the error tracker.
    transaction.on_commit(message.send, robust=True)
    return message
