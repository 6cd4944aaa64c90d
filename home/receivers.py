"""What makes the shared page cache stale: each receiver hands over to
home.page_cache.page_cache_invalidate, which acts once the change commits."""

from django.db.models.signals import post_delete, post_save
from wagtail.models import Page
from wagtail.signals import page_published, page_unpublished, post_page_move

from .page_cache import page_cache_invalidate

# What public pages show besides pages themselves: snippets, settings and
# images in every page's header, footer or blocks, a session's dates and the
# seats its tickets and orders take or free (taking them also invalidates in
# workshops.services.seats.lock_session). String labels: home imports no
# other app (docs/conventions.md).
SHOWN_MODELS = (
    "wagtailcore.Site",
    "wagtailcore.PageViewRestriction",
    "wagtailimages.Image",
    "home.SiteSettings",
    "testimonials.Testimonial",
    "workshops.WorkshopSession",
    "workshops.Ticket",
    "workshops.Order",
    "newsletter.MailingList",
    "newsletter.NewsletterSettings",
)


def on_page_change(sender, **kwargs) -> None:
    page_cache_invalidate()


def on_shown_model_change(sender, **kwargs) -> None:
    page_cache_invalidate()


def connect() -> None:
    page_published.connect(on_page_change, dispatch_uid="page-cache-published")
    page_unpublished.connect(on_page_change, dispatch_uid="page-cache-unpublished")
    post_page_move.connect(on_page_change, dispatch_uid="page-cache-moved")
    # Deleting any page deletes its Page row, which sends this with Page as the
    # sender; a receiver for every model would stop Django's fast bulk deletes.
    post_delete.connect(
        on_page_change, sender=Page, dispatch_uid="page-cache-page-deleted"
    )
    for label in SHOWN_MODELS:
        for signal in (post_save, post_delete):
            signal.connect(
                on_shown_model_change,
                sender=label,
                dispatch_uid=f"page-cache-{signal is post_save}-{label}",
            )
