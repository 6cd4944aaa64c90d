"""The home page, general content pages and the site-wide settings."""

from django.db import models
from django.db.models import Q
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import StreamField
from wagtail.models import Page, PageViewRestriction
from wagtail.search import index

from . import page_cache
from .blocks import BaseStreamBlock, SocialLinkBlock


def any_view_restrictions() -> bool:
    """Whether any page is restricted at all, asked once per change.

    Most sites restrict no page; Wagtail's `public()` and its check before
    serving a page each read every restriction again (home/receivers.py moves
    the generation when one is saved or deleted).
    """
    return page_cache.shared_value(
        "any-view-restrictions",
        [],
        None,
        lambda: PageViewRestriction.objects.exists(),
        scope=page_cache.CONTENT,
    )


class BasePage(Page):
    """A page with an image for social media; every public page extends it."""

    share_image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=(
            "Shown when the page is shared on social media; 1200×630 works best. "
            "Without one, the site logo is used."
        ),
    )

    promote_panels = [
        *Page.promote_panels,
        FieldPanel("share_image"),
    ]

    class Meta:
        abstract = True

    def get_view_restrictions(self):
        # Wagtail asks on every page view, two queries each time; most sites
        # restrict no page at all, and that answer is cached until a
        # restriction is saved or deleted (home/receivers.py).
        if not any_view_restrictions():
            return PageViewRestriction.objects.none()
        return super().get_view_restrictions()

    def route(self, request, path_components):
        """Wagtail's routing, with every page on the rest of the path in one query.

        Wagtail asks twice per level (the child by its slug, then its specific
        row); this reads the rows of the whole path at once and fetches only the
        specific rows a route needs: the page served, and any page on the way
        that routes for itself (RoutablePageMixin). Anything unexpected is left
        to Wagtail's own walk, so the answers are the same.
        """
        if not path_components:
            return super().route(request, path_components)
        rows = _rows_on_path(request, below=self, slugs=path_components)
        parent: Page = self
        for depth, slug in enumerate(path_components, start=1):
            child = next(
                (
                    row
                    for row in rows
                    if row.slug == slug
                    and row.depth == parent.depth + 1
                    and row.path.startswith(parent.path)
                ),
                None,
            )
            if child is None:
                return super().route(request, path_components)
            child._cached_parent_obj = parent
            remaining = path_components[depth:]
            specific_class = child.specific_class
            if remaining and specific_class and specific_class.route is BasePage.route:
                parent = child
                continue
            specific = child.specific
            specific._cached_parent_obj = parent
            return specific.route(request, remaining)
        return super().route(request, path_components)


def _rows_on_path(request, *, below: Page, slugs: list[str]) -> list[Page]:
    """The pages below `below` that the path may pass through, once per request.

    A page that routes for itself hands the rest of the path back to
    BasePage.route, which finds its rows here instead of asking again. Every
    child of `below` comes along: routed from the site's root, they are the
    menus' top-level pages (home.selectors.top_level_pages), read here
    instead of in a query of their own.
    """
    known = getattr(request, "_pages_on_path", None)
    if known is not None and below.path.startswith(known[0]):
        return known[1]
    rows = list(
        Page.objects.filter(
            Q(depth=below.depth + 1)
            | Q(depth__gt=below.depth + 1, depth__lte=below.depth + len(slugs))
            & Q(slug__in=slugs),
            path__startswith=below.path,
        ).order_by("path")
    )
    if request is not None:
        request._pages_on_path = (below.path, rows)
    return rows


class HomePage(BasePage):
    """The front page: an introduction, then any blocks the editor arranges."""

    introduction = models.TextField(
        max_length=400,
        help_text="One or two sentences under the page title saying what you offer.",
    )
    hero_image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A wide image beside the introduction. Decorative: leave it out "
        "rather than choose one that says nothing.",
    )
    body = StreamField(
        BaseStreamBlock(),
        blank=True,
        help_text="The rest of the page, in the order readers should see it.",
    )

    content_panels = [
        *Page.content_panels,
        FieldPanel("introduction"),
        FieldPanel("hero_image"),
        FieldPanel("body"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("introduction"),
        index.SearchField("body"),
    ]

    parent_page_types = ["wagtailcore.Page"]
    max_count = 1

    class Meta:
        verbose_name = "home page"


class ContentPage(BasePage):
    """A general page: about us, policies, contact details."""

    introduction = models.TextField(
        max_length=400,
        blank=True,
        help_text="A short summary shown under the title and in listings.",
    )
    body = StreamField(BaseStreamBlock(), help_text="The main content of the page.")

    content_panels = [
        *Page.content_panels,
        FieldPanel("introduction"),
        FieldPanel("body"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("introduction"),
        index.SearchField("body"),
    ]

    parent_page_types = ["home.HomePage", "home.ContentPage"]
    # String references: home imports no other app. A request form sits under
    # the page that describes the training ("Group training").
    subpage_types = [
        "home.ContentPage",
        "inquiries.GroupTrainingRequestPage",
        "inquiries.ContactPage",
    ]

    class Meta:
        verbose_name = "content page"


@register_setting(icon="site")
class SiteSettings(BaseSiteSetting):
    """Who runs the site: shown in the header, the footer and every email."""

    organisation_name = models.CharField(
        max_length=120,
        help_text="The name shown in the header, page titles and emails.",
    )
    tagline = models.CharField(
        max_length=200,
        blank=True,
        help_text="A short line under the name in the footer.",
    )
    contact_email = models.EmailField(
        blank=True,
        help_text="Where visitors can write to you; shown in the footer and emails.",
    )
    postal_address = models.TextField(
        blank=True,
        help_text="Your postal address. The law requires it in marketing emails "
        "(CAN-SPAM), so every email shows it.",
    )
    logo = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Shown in the header and used when a page has no sharing image.",
    )
    w9_document = models.ForeignKey(
        "wagtaildocs.Document",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="W-9 document",
        help_text="Your signed W-9, which US group buyers often ask for with an "
        "invoice. Sent on request, never linked from the site: a sole trader's "
        "W-9 carries their taxpayer number.",
    )
    social_links = StreamField(
        [("link", SocialLinkBlock())],
        blank=True,
        help_text="Profiles linked from the footer, in this order.",
    )

    panels = [
        MultiFieldPanel(
            [
                FieldPanel("organisation_name"),
                FieldPanel("tagline"),
                FieldPanel("logo"),
            ],
            heading="Identity",
        ),
        MultiFieldPanel(
            [
                FieldPanel("contact_email"),
                FieldPanel("postal_address"),
                FieldPanel("w9_document"),
            ],
            heading="Contact and paperwork",
        ),
        FieldPanel("social_links"),
    ]
    # Every page shows the logo and the W-9 link: fetch them with the settings.
    select_related = ["logo", "w9_document"]

    class Meta:
        verbose_name = "site settings"
