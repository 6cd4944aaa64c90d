"""Reads every page needs: which pages anyone may see, the site's top-level pages."""

from django.db.models import QuerySet
from wagtail.contrib.settings.models import BaseSiteSetting
from wagtail.models import Page, Site

from .models import HomePage, SiteSettings, any_view_restrictions


def public_pages(pages: QuerySet) -> QuerySet:
    """`pages.public()`, without its query of restrictions while there are none."""
    return pages.public() if any_view_restrictions() else pages


def top_level_pages(request) -> list[Page]:
    """The live, public children of the site's root, fetched once per request.

    Specific enough to link to and to tell a page's type (`content_type_id`):
    the menus and the link to the schedule all read this one list.
    """
    if request is None:
        return []
    if not hasattr(request, "_top_level_pages"):
        site = Site.find_for_request(request)
        request._top_level_pages = _routed_children(request, site) or (
            list(
                public_pages(site.root_page.get_children().live()).only(
                    "title", "url_path", "show_in_menus", "content_type_id"
                )
            )
            if site
            else []
        )
    return request._top_level_pages


def _routed_children(request, site: Site | None) -> list[Page] | None:
    """The root's live children as routing read them (BasePage.route), if it did.

    Only while no page is restricted: `public()` is then no filter at all.
    """
    routed = getattr(request, "_pages_on_path", None)
    if site is None or routed is None or routed[0] != site.root_page.path:
        return None
    if any_view_restrictions():
        return None
    depth = site.root_page.depth + 1
    return [page for page in routed[1] if page.depth == depth and page.live]


def _other_site_settings() -> list[str]:
    # Every app's BaseSiteSetting hangs off the Site by a one-to-one: the names
    # of those relations, found at run time (home imports no other app).
    return [
        relation.get_accessor_name()
        for relation in Site._meta.related_objects
        if relation.one_to_one
        and issubclass(relation.related_model, BaseSiteSetting)
        and relation.related_model is not SiteSettings
    ]


def site_settings(request) -> SiteSettings:
    """The site's settings, with every other app's site settings in the same query.

    Each is left on the request where Wagtail's `for_request` looks first, so
    the header, the footer and the sign-up form read them without a query of
    their own. A setting not saved yet is left to `for_request`, which makes it.
    The home page's hero image comes along too (`hero_image`).
    """
    attr_name = SiteSettings.get_cache_attr_name()
    if hasattr(request, attr_name):
        return getattr(request, attr_name)
    site = Site.find_for_request(request)
    others = _other_site_settings()
    found = (
        SiteSettings.base_queryset()
        .select_related(
            *(f"site__{name}" for name in others),
            "site__root_page__homepage__hero_image",
        )
        .filter(site=site)
        .first()
        if site
        else None
    )
    if found is None:
        return SiteSettings.for_request(request)
    found._request = request
    setattr(request, attr_name, found)
    for name in others:
        other = getattr(found.site, name, None)
        if other is not None and not hasattr(request, other.get_cache_attr_name()):
            other._request = request
            setattr(request, other.get_cache_attr_name(), other)
    return found


def hero_image(request, page: HomePage):
    """The home page's hero image, read with the site's settings when it can be.

    On the home page the settings are read anyway (for the title), and the
    site's root page is the home page: its image rows come in that query.
    """
    if page.hero_image_id is None:
        return None
    found = site_settings(request) if request is not None else None
    if found is not None and SiteSettings.site.is_cached(found):
        root = found.site.root_page
        home = getattr(root, "homepage", None)
        if (
            home is not None
            and home.pk == page.pk
            and home.hero_image_id == page.hero_image_id
        ):
            return home.hero_image
    return page.hero_image
