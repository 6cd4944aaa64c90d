"""Signal receivers: each hands its signal to a service."""

from django.db.models.signals import post_save
from django.dispatch import receiver
from wagtail.signals import page_published

from . import services
from .models import WorkshopPage, WorkshopSession


@receiver(page_published, sender=WorkshopPage)
def workshop_page_published(sender, instance, revision=None, **kwargs):
    """Every way a page goes live (the editor, a schedule, a workflow) comes here."""
    services.workshop_page_published(
        page_id=instance.pk, user=getattr(revision, "user", None)
    )


@receiver(post_save, sender=WorkshopSession)
def session_created(sender, instance, created, raw=False, **kwargs):
    """A new session's first state is what its future holders are told."""
    if created and not raw:
        services.session_calendar_baseline(session_id=instance.pk)
