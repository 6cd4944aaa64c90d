"""Filters of the admin's order and attendee listings."""

import django_filters
from wagtail.admin.filters import WagtailFilterSet

from .models import (
    Certificate,
    InvoiceRequest,
    Order,
    SeatCode,
    Ticket,
    WorkshopSession,
)


def session_filter() -> django_filters.ModelChoiceFilter:
    # A session's name is its workshop's title: fetched with it, not once per
    # option of the dropdown.
    return django_filters.ModelChoiceFilter(
        queryset=WorkshopSession.objects.select_related("workshop")
    )


class OrderFilterSet(WagtailFilterSet):
    """Orders by status, payment method and session."""

    session = session_filter()

    class Meta:
        model = Order
        fields = ["status", "payment_method", "session"]


class TicketFilterSet(WagtailFilterSet):
    """Attendees by session, for an attendee list, and by status."""

    session = session_filter()

    class Meta:
        model = Ticket
        fields = ["session", "status"]


class CertificateFilterSet(WagtailFilterSet):
    """Certificates by status (requests to approve) and session."""

    session = django_filters.ModelChoiceFilter(
        field_name="ticket__session",
        label="Session",
        queryset=WorkshopSession.objects.select_related("workshop"),
    )

    class Meta:
        model = Certificate
        fields = ["status", "session"]


class InvoiceRequestFilterSet(WagtailFilterSet):
    """Invoice requests by status and preferred payment method."""

    class Meta:
        model = InvoiceRequest
        fields = ["status", "payment_method", "paid_via"]


class SeatCodeFilterSet(WagtailFilterSet):
    """Seat codes by workshop (empty: any workshop)."""

    class Meta:
        model = SeatCode
        fields = ["workshop"]
