"""What makes the shared page cache stale: each receiver hands over to
home.page_cache.page_cache_invalidate, which acts once the change commits."""

from django.db.models.signals import post_delete, post_save
from wagtail.models import Page
from wagtail.signals import page_published, page_unpublished, post_page_move

from .page_cache import SEATS, page_cache_invalidate

# What public pages show besides pages themselves: snippets, settings and
# images in every page's header, footer or blocks, and a session's dates.
# String labels: home imports no other app (docs/conventions.md).
SHOWN_MODELS = (
    "wagtailcore.Site",
    "wagtailcore.PageViewRestriction",
    "wagtailimages.Image",
    "home.SiteSettings",
    "testimonials.Testimonial",
    "workshops.WorkshopSession",
    "newsletter.MailingList",
    "newsletter.NewsletterSettings",
)
# What changes only the seats left: a sale, a hold, a cancellation (taking
# seats also invalidates in workshops.services.seats.lock_session).
SEAT_MODELS = ("workshops.Ticket", "workshops.Order")


def on_page_change(sender, **kwargs) -> None:
    page_cache_invalidate()


def on_shown_model_change(sender, **kwargs) -> None:
    page_cache_invalidate()


def on_seats_change(sender, **kwargs) -> None:
    page_cache_invalidate(scope=SEATS)


def connect() -> None:
    page_published.connect(on_page_change, dispatch_uid="page-cache-published")
    page_unpublished.connect(on_page_change, dispatch_uid="page-cache-unpublished")
    post_page_move.connect(on_page_change, dispatch_uid="page-cache-moved")
    # Deleting any page deletes its Page row, which sends this with Page as the
    # sender; a receiver for every model would stop Django's fast bulk deletes.
    post_delete.connect(
        on_page_change, sender=Page, dispatch_uid="page-cache-page-deleted"
    )
    for receiver, labels in (
        (on_shown_model_change, SHOWN_MODELS),
        (on_seats_change, SEAT_MODELS),
    ):
        for label in labels:
            for signal in (post_save, post_delete):
                signal.connect(
                    receiver,
                    sender=label,
                    dispatch_uid=f"page-cache-{signal is post_save}-{label}",
                )
