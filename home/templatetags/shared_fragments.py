"""{% shared_fragment %}: markup every visitor sees, cached until the next change.

    {% load shared_fragments %}
    {% shared_fragment "site-header" page.pk scope="content" %}
    ...
    {% endshared_fragment %}

The fragment is stored under the page cache's generation (home/page_cache.py),
so a publish, a snippet edit or a sale makes it stale on every machine; the
arguments name what else it depends on. `scope="content"` says it shows no
seats left, so a sale leaves it be (the default, "seats", is always safe);
inside one, `{% seats_hole "template.html" name=value %}` marks a part that
does (a page body's upcoming dates), redrawn on its own after every sale.
Never cached in a preview, whose page may be unsaved, nor while the page cache
is off. A fragment must hold nothing personal: forms in it get their CSRF
token from site/static/js/csrf.js.
"""

import logging
import re

from django import template
from django.core import signing
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from home import page_cache

logger = logging.getLogger(__name__)
register = template.Library()

IN_CONTENT_FRAGMENT = "_in_content_fragment"
HOLE_PREFIX = "<!--seats:"
HOLE = re.compile(r"<!--seats:([\w.:-]+)-->")
HOLE_SALT = "home.shared_fragments.seats_hole"


class SharedFragmentNode(template.Node):
    def __init__(self, nodelist, name, vary_on, scope):
        self.nodelist = nodelist
        self.name = name
        self.vary_on = vary_on
        self.scope = scope

    def render(self, context) -> str:
        request = context.get("request")
        if (
            request is None
            or page_cache.seconds() <= 0
            or getattr(request, "is_preview", False)
        ):
            return self.nodelist.render(context)
        scope = self.scope.resolve(context) if self.scope else page_cache.SEATS
        key = page_cache.fragment_key(
            self.name.resolve(context),
            [str(value.resolve(context)) for value in self.vary_on],
            request,
            scope=scope,
        )
        html = page_cache.fetch_value(key)
        if html is None:
            with context.push({IN_CONTENT_FRAGMENT: scope == page_cache.CONTENT}):
                html = self.nodelist.render(context)
            html = stored(key, html, request)
        # Filled by the outermost content fragment only: one inside another
        # leaves its holes for the outer one to store as holes.
        outermost = not context.get(IN_CONTENT_FRAGMENT)
        if scope == page_cache.CONTENT and outermost and HOLE_PREFIX in html:
            html = HOLE.sub(lambda match: _filled(match[1], request), html)
        return html


def stored(key: str, html: str, request) -> str:
    """The markup as every visitor may see it, stored unless it is personal."""
    html = page_cache.strip_csrf_tokens(html)
    # Anything else holding this visitor's token stays theirs alone.
    if not page_cache.holds_secret_token(html.encode(), request):
        page_cache.store_value(key, html)
    return html


def _filled(payload: str, request) -> str:
    key = page_cache.fragment_key("seats-hole", [payload], request)
    html = page_cache.fetch_value(key)
    if html is None:
        try:
            template_name, values = signing.loads(payload, salt=HOLE_SALT)
        except signing.BadSignature:
            # Stored before SECRET_KEY changed beyond its fallbacks.
            logger.warning("A seats hole with a bad signature was left empty")
            return ""
        html = stored(key, _draw(template_name, values, request), request)
    return html


def _draw(template_name: str, values: dict, request) -> str:
    return render_to_string(template_name, {**values, "request": request})


@register.simple_tag(takes_context=True)
def seats_hole(context, template_name: str, **values) -> str:
    """Markup that shows seats left, within markup that does not.

    Inside a content-scoped shared fragment it is stored as a marker (signed,
    so only this tag's own can be filled), which the fragment fills on every
    render from a fragment of its own under the seats generation: a sale
    redraws the dates, not the body around them. Anywhere else (a preview, an
    email, the page cache off) it is drawn at once.
    """
    if context.get(IN_CONTENT_FRAGMENT):
        payload = signing.dumps([template_name, values], salt=HOLE_SALT)
        return mark_safe(f"{HOLE_PREFIX}{payload}-->")  # noqa: S308 (ours)
    return _draw(template_name, values, context.get("request"))


@register.tag
def shared_fragment(parser, token):
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError(
            "shared_fragment needs a name: {% shared_fragment 'name' [vary_on ...] %}"
        )
    scope = None
    if bits[-1].startswith("scope="):
        scope = parser.compile_filter(bits.pop().removeprefix("scope="))
    nodelist = parser.parse(("endshared_fragment",))
    parser.delete_first_token()
    return SharedFragmentNode(
        nodelist,
        parser.compile_filter(bits[1]),
        [parser.compile_filter(bit) for bit in bits[2:]],
        scope,
    )
