from urllib.parse import urlsplit

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from wagtail.blocks import StreamValue, StructValue
from wagtail.blocks.list_block import ListValue
from wagtail.models import Page, Site
from wagtail.rich_text import RichText, expand_db_html

from home import page_cache
from home.selectors import hero_image as select_hero_image
from home.selectors import site_settings as request_site_settings
from home.selectors import top_level_pages

register = template.Library()

# Between rich texts expanded together: a comment the rewriters leave alone.
RICH_TEXT_SPLIT = "<!--rich-text-split-->"


def _top_level_pages(request, *, in_menu: bool) -> list[Page]:
    """The live, public children of the site's root, fetched once per request."""
    pages = top_level_pages(request)
    return [page for page in pages if page.show_in_menus] if in_menu else pages


@register.inclusion_tag("home/tags/main_menu.html", takes_context=True)
def main_menu(context, current_page=None):
    """The site root's pages marked 'show in menus'; the current section is marked."""
    current_path = current_page.url_path if current_page else ""
    items = []
    for page in _top_level_pages(context.get("request"), in_menu=True):
        if current_path == page.url_path:
            current = "page"
        elif current_path.startswith(page.url_path):
            current = "true"
        else:
            current = ""
        items.append({"page": page, "current": current})
    return {
        "items": items,
        "request": context.get("request"),
    }


@register.inclusion_tag("home/tags/footer_menu.html", takes_context=True)
def footer_menu(context):
    """Every top-level page, those left out of the main menu (privacy) included."""
    request = context.get("request")
    return {"pages": _top_level_pages(request, in_menu=False), "request": request}


@register.inclusion_tag("home/tags/share_meta.html", takes_context=True)
def share_meta(context, page):
    """Description, canonical URL and Open Graph tags for sharing a page."""
    request = context.get("request")
    site_settings = request_site_settings(request) if request else None
    image = getattr(page, "share_image", None) or (
        site_settings.logo if site_settings else None
    )
    url = page.get_full_url(request)
    return {
        "page": page,
        "url": url,
        "origin": "{0.scheme}://{0.netloc}".format(urlsplit(url)),
        "image": image,
        "site_name": site_settings.organisation_name if site_settings else "",
        "description": page.search_description or getattr(page, "introduction", ""),
        "request": request,
    }


@register.simple_tag(takes_context=True)
def organisation_name(context) -> str:
    """The organisation's name for page titles, read once per change of settings."""
    request = context.get("request")
    if request is None:
        return ""
    site = Site.find_for_request(request)
    return page_cache.shared_value(
        "organisation-name",
        [str(site.pk if site else "")],
        request,
        lambda: request_site_settings(request).organisation_name,
        scope=page_cache.CONTENT,
    )


@register.simple_tag(takes_context=True)
def hero_image(context, page):
    """The home page's hero image, without a query of its own after a change."""
    return select_hero_image(context.get("request"), page)


def _rich_texts(value):
    if isinstance(value, RichText):
        yield value
    elif isinstance(value, StreamValue):
        for block in value:
            yield from _rich_texts(block.value)
    elif isinstance(value, StructValue):
        for child in value.values():
            yield from _rich_texts(child)
    elif isinstance(value, ListValue | list | tuple):
        for child in value:
            yield from _rich_texts(child)


class _Expanded:
    # RichText renders itself through __html__; this one is already expanded.
    def __init__(self, html: str):
        self.html = html

    def __call__(self) -> str:
        return render_to_string(
            "wagtailcore/shared/richtext.html",
            {"html": mark_safe(self.html)},  # noqa: S308
        )


@register.filter
def links_expanded(body):
    """A StreamField's blocks, the links of all their rich text looked up at once.

    Each rich text otherwise expands its own links (a query or two each), so a
    body of sixty linked paragraphs would cost sixty times as many queries.
    """
    texts = [
        text
        for text in _rich_texts(body)
        if RICH_TEXT_SPLIT not in text.source
        and ("<a " in text.source or "<embed" in text.source)
    ]
    if len(texts) < 2:
        return body
    expanded = expand_db_html(RICH_TEXT_SPLIT.join(text.source for text in texts))
    parts = expanded.split(RICH_TEXT_SPLIT)
    if len(parts) == len(texts):
        for text, html in zip(texts, parts, strict=True):
            text.__html__ = _Expanded(html)
    return body
