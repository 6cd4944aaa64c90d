"""Messages from the contact page: received and annotated."""

from django.db import transaction
from wagtail.log_actions import log

from ..models import ContactMessage, InquiryPage
from .mail import inquiry_notify


def contact_message_create(
    *, name: str, email: str, message: str, page: InquiryPage | None = None
) -> ContactMessage:
    """Store a message, tell staff, and acknowledge it to the sender."""
    with transaction.atomic():
        contact_message = ContactMessage(name=name, email=email, message=message)
        contact_message.full_clean()
        contact_message.save()
        log(instance=contact_message, action="inquiries.message.received")
        inquiry_notify(
            inquiry=contact_message,
            page=page,
            template="inquiries/emails/contact",
            admin_url_name="inquiries_messages:inspect",
            context={"inquiry": contact_message},
        )
    return contact_message
