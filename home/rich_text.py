"""Rich text's page links, looked up in one query instead of two."""

from wagtail.models import Page
from wagtail.rich_text.pages import PageLinkHandler


class PlainPageLinkHandler(PageLinkHandler):
    """Links to pages, their addresses read from the pages' own rows.

    Wagtail fetches each linked page as its specific type (one query for the
    types, one per type) in case a page type computes its own address; none
    of ours does, so the plain rows give the same addresses. A page type that
    does (its own `get_url_parts`) still gets its specific row.
    """

    @classmethod
    def get_many(cls, attrs_list: list[dict]) -> list[Page | None]:
        ids = [attrs.get("id") for attrs in attrs_list]
        pages = {str(page.pk): page for page in Page.objects.filter(id__in=ids)}
        for key, page in pages.items():
            model = page.specific_class
            if model is not None and model.get_url_parts is not Page.get_url_parts:
                pages[key] = page.specific
        return [pages.get(str(id_)) for id_ in ids]
