"""Staff's notes on an inquiry, of either kind."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from wagtail.log_actions import log

from ..models import Inquiry


def inquiry_update_notes(
    *, inquiry: Inquiry, notes: str, user: AbstractBaseUser | None
) -> Inquiry:
    """Replace the staff's notes on a request or a message, and log it."""
    with transaction.atomic():
        locked = type(inquiry).objects.select_for_update().get(pk=inquiry.pk)
        locked.notes = notes
        locked.save(update_fields=["notes"])
        log(instance=locked, action="inquiries.notes", user=user)
    return locked
