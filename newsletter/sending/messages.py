"""The messages a send hands to the provider, built from the email frozen on it."""

from collections.abc import Sequence
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from .. import announcing, rendering
from ..models import IssueSend, SendKind
from . import providers
from .ledger import Recipient


def common_headers(send: IssueSend) -> dict[str, str]:
    host = urlsplit(settings.BASE_URL).hostname or "localhost"
    return {
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{send.list_name} <list-{send.mailing_list_id}.{host}>",
    }


def _personal_values(send: IssueSend, recipient: Recipient) -> dict[str, str]:
    values = rendering.personal_values(
        subscriber_id=recipient.subscriber_id,
        link_key=recipient.link_key,
        name=recipient.name,
        list_id=send.mailing_list_id,
        delivery_id=recipient.delivery_id,
    )
    if send.kind == SendKind.DATES:
        availability = announcing.Availability(
            recipient.time_zone, recipient.attend_from, recipient.attend_until
        )
        values.update(announcing.dates_values(_announced(send), availability))
    return values


def _announced(send: IssueSend) -> list:
    """The sessions an announcement tells of, read once per send object."""
    if not hasattr(send, "_announced_sessions"):
        send._announced_sessions = [
            announcement.session
            for announcement in send.announced_sessions.select_related(
                "session__workshop"
            ).order_by("session__starts_at", "session_id")
        ]
    return send._announced_sessions


def personal_fields(send: IssueSend) -> tuple[str, ...]:
    """The placeholders the send's frozen email holds."""
    if send.kind == SendKind.DATES:
        return (*rendering.PERSONAL_FIELDS, *announcing.ANNOUNCEMENT_FIELDS)
    return rendering.PERSONAL_FIELDS


def batch_message(
    *, send: IssueSend, recipients: Sequence[Recipient]
) -> EmailMultiAlternatives:
    """One message for a whole batch: the provider fills in each person's parts."""
    profile = providers.profile_for(send.email_backend)
    message = EmailMultiAlternatives(
        subject=send.subject,
        body=send.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email for recipient in recipients],
        headers=common_headers(send),
    )
    message.attach_alternative(send.html, "text/html")
    merge_data, merge_metadata, merge_headers = {}, {}, {}
    for recipient in recipients:
        values = _personal_values(send, recipient)
        merge_data[recipient.email] = {
            profile.merge_key.format(name): value for name, value in values.items()
        }
        merge_metadata[recipient.email] = {"delivery": str(recipient.delivery_id)}
        merge_headers[recipient.email] = {
            "List-Unsubscribe": f"<{values['unsubscribe_url']}>"
        }
    message.merge_data = merge_data
    message.merge_metadata = merge_metadata
    message.merge_headers = merge_headers
    message.metadata = {"send": str(send.pk)}
    message.tags = ["newsletter"]
    return message


class SingleMessages:
    """One message per recipient, its links written into the frozen email."""

    def __init__(self, send: IssueSend):
        self.send = send
        fields = personal_fields(send)
        placeholder = providers.SINGLE_PLACEHOLDER
        self.html = rendering.PersonalTemplate(send.html, placeholder, fields)
        self.text = rendering.PersonalTemplate(send.text, placeholder, fields)
        self.headers = common_headers(send)

    def build(self, recipient: Recipient) -> EmailMultiAlternatives:
        values = _personal_values(self.send, recipient)
        message = EmailMultiAlternatives(
            subject=self.send.subject,
            body=self.text.fill(values),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[recipient.email],
            headers={
                **self.headers,
                "List-Unsubscribe": f"<{values['unsubscribe_url']}>",
            },
        )
        message.attach_alternative(self.html.fill(values), "text/html")
        message.metadata = {
            "send": str(self.send.pk),
            "delivery": str(recipient.delivery_id),
        }
        message.tags = ["newsletter"]
        return message
