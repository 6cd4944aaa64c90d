"""Signal receivers: each hands its signal to a service and does nothing else."""

from anymail.signals import tracking
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from . import services
from .models import Subscriber, SuppressionReason


@receiver(tracking, dispatch_uid="newsletter.tracking")
def handle_tracking_event(sender, event, esp_name, **kwargs):
    services.tracking_event_process(event=event, esp_name=esp_name)
    services.delivery_track_event(event=event, esp_name=esp_name)


@receiver(pre_delete, sender=Subscriber, dispatch_uid="newsletter.subscriber_deleted")
def suppress_deleted_subscriber(sender, instance, **kwargs):
    # However a subscriber is deleted (the erase service, a bulk delete, the
    # shell), the address must stay unmailable.
    services.suppression_ensure(
        email=instance.email,
        reason=SuppressionReason.ERASED,
        detail="Subscriber deleted",
    )
