"""Filling in the checkout form as a buyer would, and Stripe's webhook after it."""

import json

from django.conf import settings

from workshops.models import TicketType, WorkshopSession


def checkout_form(
    ticket_type: TicketType,
    *,
    quantity: int = 1,
    attendees: list[tuple[str, str]] | None = None,
    **overrides,
) -> dict:
    seats = quantity * ticket_type.seats_per_ticket
    if attendees is None:
        attendees = [
            (f"Attendee {n}", f"attendee{n}@example.com") for n in range(seats)
        ]
    data = {
        "ticket_type": ticket_type.pk,
        "quantity": quantity,
        "buyer_name": "Ada Buyer",
        "buyer_email": "ada@example.com",
        "buyer_time_zone": "Europe/Berlin",
        "attendee-TOTAL_FORMS": len(attendees),
        "attendee-INITIAL_FORMS": 0,
        "attendee-MIN_NUM_FORMS": 1,
        "attendee-MAX_NUM_FORMS": 500,
    }
    for index, (name, email) in enumerate(attendees):
        data[f"attendee-{index}-name"] = name
        data[f"attendee-{index}-email"] = email
    data.update(overrides)
    return data


def book(client, session: WorkshopSession, ticket_type: TicketType, **kwargs):
    return client.post(f"/book/{session.pk}/", checkout_form(ticket_type, **kwargs))


def deliver(client, stripe, event: dict, *, secret: str | None = None):
    """Post `event` to the webhook signed as Stripe signs it (or with `secret`)."""
    payload = json.dumps(event).encode()
    signature = stripe.sign(payload, secret or settings.STRIPE_WEBHOOK_SECRET)
    return client.post(
        "/stripe/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )
