"""Business actions on inquiries; views, forms and the admin only call these."""

from .contact import contact_message_create, contact_message_update_notes
from .group_training import (
    group_training_request_change_status,
    group_training_request_create,
    group_training_request_update_notes,
)

__all__ = [
    "contact_message_create",
    "contact_message_update_notes",
    "group_training_request_change_status",
    "group_training_request_create",
    "group_training_request_update_notes",
]
