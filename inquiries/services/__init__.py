"""Business actions on inquiries; views, forms and the admin only call these."""

from .contact import contact_message_create
from .group_training import (
    group_training_request_change_status,
    group_training_request_create,
)
from .notes import inquiry_update_notes

__all__ = [
    "contact_message_create",
    "group_training_request_change_status",
    "group_training_request_create",
    "inquiry_update_notes",
]
