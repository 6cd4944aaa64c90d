"""{% shared_fragment %}: markup every visitor sees, cached until the next change.

    {% load shared_fragments %}
    {% shared_fragment "site-header" page.pk scope="content" %}
    ...
    {% endshared_fragment %}

The fragment is stored under the page cache's generation (home/page_cache.py),
so a publish, a snippet edit or a sale makes it stale on every machine; the
arguments name what else it depends on. `scope="content"` says it shows no
seats left, so a sale leaves it be (the default, "seats", is always safe).
Never cached in a preview, whose page may be unsaved, nor while the page cache
is off. A fragment must hold nothing personal: forms in it get their CSRF
token from site/static/js/csrf.js.
"""

from django import template

from home import page_cache

register = template.Library()


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
        key = page_cache.fragment_key(
            self.name.resolve(context),
            [str(value.resolve(context)) for value in self.vary_on],
            request,
            scope=self.scope.resolve(context) if self.scope else page_cache.SEATS,
        )
        html = page_cache.fetch_value(key)
        if html is None:
            html = page_cache.strip_csrf_tokens(self.nodelist.render(context))
            # Anything else holding this visitor's token stays theirs alone.
            if not page_cache.holds_secret_token(html.encode(), request):
                page_cache.store_value(key, html)
        return html


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
