"""Registers home's Wagtail extensions; they live in their own modules."""

from wagtail import hooks

from .rich_text import PlainPageLinkHandler


# After Wagtail's own registration (order 0), which this replaces.
@hooks.register("register_rich_text_features", order=1)
def register_plain_page_links(features) -> None:
    features.register_link_type(PlainPageLinkHandler)
