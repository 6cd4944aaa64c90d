"""An issue as an email: HTML with inlined CSS and full URLs, and a plain-text part.

Rendered from the same blocks as the web page, through email templates of their
own (tables, inline styles, no scripts). The per-recipient parts (the greeting
and the personal links) are left as placeholders, which the provider fills in
(batch mode) or `PersonalTemplate` does (single mode, tests, previews).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from typing import Any

import css_inline
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from home.email import email_context

from . import links
from .models import MailingList, NewsletterIssuePage, Subscriber

PERSONAL_FIELDS = ("greeting", "greeting_html", "preferences_url", "unsubscribe_url")
ROOT_RELATIVE = re.compile(r'(\s(?:href|src)=")/(?!/)')
INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


@dataclass(frozen=True)
class RenderedIssue:
    """The email of an issue, with placeholders where each recipient differs."""

    subject: str
    html: str
    text: str


def _absolute_urls(html: str) -> str:
    # Rich text, page links and image renditions come out as paths; an email
    # is read far from the site, so every one of them needs the host.
    return ROOT_RELATIVE.sub(
        lambda match: f"{match.group(1)}{settings.BASE_URL}/", html
    )


def full_url(page) -> str:
    """A page's address for an email: BASE_URL's host for this site's pages."""
    url = page.get_url() or ""
    return f"{settings.BASE_URL}{url}" if url.startswith("/") else url


def _block_context(block, extra: Mapping[str, Any]) -> dict[str, Any]:
    return {"value": block.value, "block_type": block.block_type, **extra}


def issue_render(
    *,
    page: NewsletterIssuePage,
    placeholders: Mapping[str, str],
    mailing_list: MailingList | None = None,
) -> RenderedIssue:
    """Render `page` as an email whose personal parts are `placeholders`."""
    context: dict[str, Any] = {
        **email_context(site=page.get_site()),
        "page": page,
        "personal": placeholders,
        "web_url": full_url(page) or settings.BASE_URL,
        "list_name": mailing_list.name if mailing_list else "",
        "preheader": page.preheader,
    }
    blocks_html, blocks_text = [], []
    for block in page.body:
        block_context = _block_context(block, context)
        name = f"newsletter/email/blocks/{block.block_type}"
        blocks_html.append(mark_safe(render_to_string(f"{name}.html", block_context)))  # noqa: S308
        blocks_text.append(render_to_string(f"{name}.txt", block_context).strip())
    html = render_to_string(
        "newsletter/email/issue.html", {**context, "blocks": blocks_html}
    )
    html = INLINER.inline(_absolute_urls(html))
    text = render_to_string(
        "newsletter/email/issue.txt", {**context, "blocks": blocks_text}
    )
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return RenderedIssue(subject=" ".join(page.subject.split()), html=html, text=text)


class PersonalTemplate:
    """A frozen email split at its placeholders, filled in once per recipient."""

    def __init__(
        self, source: str, placeholder: str, fields: Sequence[str] = PERSONAL_FIELDS
    ):
        names = "|".join(re.escape(placeholder.format(name)) for name in fields)
        lookup = {placeholder.format(name): name for name in fields}
        self.parts: list[tuple[bool, str]] = []
        position = 0
        for match in re.finditer(names, source):
            self.parts.append((False, source[position : match.start()]))
            self.parts.append((True, lookup[match.group(0)]))
            position = match.end()
        self.parts.append((False, source[position:]))

    def fill(self, values: Mapping[str, str]) -> str:
        return "".join(values[part] if named else part for named, part in self.parts)


def dates_render(
    *, placeholders: Mapping[str, str], mailing_list: MailingList
) -> RenderedIssue:
    """An announcement of new workshop dates, its personal parts `placeholders`.

    The list of dates is one of them (announcing.ANNOUNCEMENT_FIELDS): each
    recipient's copy lists only the dates within their hours, in their zone.
    """
    context: dict[str, Any] = {
        **email_context(),
        "personal": placeholders,
        "list_name": mailing_list.name,
        "schedule_url": settings.BASE_URL + "/",
    }
    html = INLINER.inline(
        _absolute_urls(render_to_string("newsletter/email/dates.html", context))
    )
    text = render_to_string("newsletter/email/dates.txt", context)
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    subject = render_to_string("newsletter/email/dates_subject.txt", context)
    return RenderedIssue(subject=" ".join(subject.split()), html=html, text=text)


def greeting(name: str) -> str:
    return f"Hello {name}," if name else "Hello,"


def personal_values(
    *,
    subscriber_id: int,
    link_key: str,
    name: str,
    list_id: int,
    delivery_id: int | None,
) -> dict[str, str]:
    """One recipient's greeting and links, as the placeholders stand for them."""
    unsubscribe_url, preferences_url = links.issue_links(
        subscriber_id=subscriber_id,
        link_key=link_key,
        list_id=list_id,
        delivery_id=delivery_id,
    )
    hello = greeting(name)
    return {
        "greeting": hello,
        # The provider puts this into HTML as it is, so it is escaped here.
        "greeting_html": escape(hello),
        "preferences_url": preferences_url,
        "unsubscribe_url": unsubscribe_url,
    }


def sample_values(*, name: str, subscriber: Subscriber | None = None) -> dict[str, str]:
    """Values for a preview or a test: the reader's own links when they subscribe."""
    hello = greeting(name)
    if subscriber is not None:
        preferences = links.preferences_url(subscriber)
        unsubscribe = links.unsubscribe_url(subscriber)
    else:
        preferences = unsubscribe = (
            f"{settings.BASE_URL}{reverse('newsletter:subscribe')}"
        )
    return {
        "greeting": hello,
        "greeting_html": escape(hello),
        "preferences_url": preferences,
        "unsubscribe_url": unsubscribe,
    }


def issue_preview_html(*, page: NewsletterIssuePage, user) -> str:
    """The email as a reader would see it, for Wagtail's 'Email' preview mode."""
    placeholder = "%%nl.{}%%"
    rendered = issue_render(
        page=page,
        placeholders={name: placeholder.format(name) for name in PERSONAL_FIELDS},
    )
    name = getattr(user, "first_name", "") or ""
    return PersonalTemplate(rendered.html, placeholder).fill(sample_values(name=name))


class _TextExtractor(HTMLParser):
    """Rich text as plain text: paragraphs apart, list items dashed, links shown."""

    BLOCKS = {"p", "h2", "h3", "h4", "ul", "ol", "blockquote", "div"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.href: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.out.append("\n\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "br":
            self.out.append("\n")
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []

    def handle_endtag(self, tag):
        if tag == "a" and self.href is not None:
            text = "".join(self.link_text).strip()
            href = self.href
            self.out.append(text if href in ("", text) else f"{text} ({href})")
            self.href = None
        elif tag in self.BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data):
        data = re.sub(r"\s+", " ", data)
        if self.href is not None:
            self.link_text.append(data)
        else:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """Plain text of a piece of HTML, for the text part of an email."""
    parser = _TextExtractor()
    parser.feed(_absolute_urls(f" {html}"))
    parser.close()
    text = "".join(parser.out)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n[ \t]+", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
