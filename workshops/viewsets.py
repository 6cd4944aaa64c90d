"""What the Wagtail admin shows of ticket types, orders and attendees."""

from wagtail.admin.ui.tables import Column
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.snippets.views.snippets import SnippetViewSet

from .admin_certificates import CertificateIndexView, CertificateInspectView
from .admin_group_orders import (
    InvoiceRequestIndexView,
    InvoiceRequestInspectView,
    SeatCodeIndexView,
    SeatCodeInspectView,
)
from .admin_views import (
    OrderIndexView,
    SalesHistoryView,
    TicketIndexView,
    TicketInspectView,
)
from .filters import (
    CertificateFilterSet,
    InvoiceRequestFilterSet,
    OrderFilterSet,
    SeatCodeFilterSet,
    TicketFilterSet,
)
from .models import Certificate, InvoiceRequest, Order, SeatCode, Ticket, TicketType


class TicketTypeViewSet(SnippetViewSet):
    """Editors set what is sold; only the Sales group sees who bought it."""

    model = TicketType
    icon = "tag"
    menu_label = "Ticket types"
    menu_order = 260
    add_to_admin_menu = True
    list_display = ["name", "price", "seats_per_ticket", "active"]
    list_filter = ["active", "workshops"]


class SalesRecordViewSet(ModelViewSet):
    """What every sales record's listing shares: looked at, never edited by hand.

    Changes go through the services (SalesRecordPolicy refuses add, change and
    delete); staff see each record, its history and an export.
    """

    inspect_view_enabled = True
    history_view_class = SalesHistoryView
    copy_view_enabled = False
    form_fields: list[str] = []
    search_backend_name = None  # plain database lookups: these are not indexed


class OrderViewSet(SalesRecordViewSet):
    """Orders to look at, search and export; never edited by hand."""

    model = Order
    icon = "form"
    menu_label = "Orders"
    url_prefix = "workshops/orders"
    url_namespace = "workshops_orders"
    index_view_class = OrderIndexView
    filterset_class = OrderFilterSet
    search_fields = ["reference", "buyer_name", "buyer_email"]
    list_display = [
        "reference",
        "buyer_name",
        "session",
        Column("status", label="Status", accessor="get_status_display"),
        "total",
        "created_at",
    ]
    list_export = [
        "reference",
        "status",
        "buyer_name",
        "buyer_email",
        "session",
        "ticket_type",
        "quantity",
        "total",
        "refunded_amount",
        "payment_method",
        "created_at",
        "paid_at",
    ]
    inspect_view_fields = [
        "reference",
        "status",
        "session",
        "ticket_type",
        "quantity",
        "total",
        "refunded_amount",
        "payment_method",
        "buyer_name",
        "buyer_email",
        "buyer_time_zone",
        "stripe_checkout_session_id",
        "stripe_payment_intent_id",
        "created_at",
        "paid_at",
        "refunds",
    ]


class TicketViewSet(SalesRecordViewSet):
    """Attendees: filter by session for an attendee list, export it as CSV."""

    model = Ticket
    icon = "user"
    menu_label = "Attendees"
    url_prefix = "workshops/tickets"
    url_namespace = "workshops_tickets"
    index_view_class = TicketIndexView
    inspect_view_class = TicketInspectView
    filterset_class = TicketFilterSet
    search_fields = ["attendee_name", "attendee_email", "order__reference"]
    list_display = [
        "attendee_name",
        "attendee_email",
        "session",
        Column("status", label="Status", accessor="get_status_display"),
        Column("order", label="Order", accessor="order.reference"),
    ]
    list_export = [
        "attendee_name",
        "attendee_email",
        "session",
        "status",
        "order",
    ]
    export_headings = {"order": "Order reference"}
    inspect_view_fields = [
        "attendee_name",
        "attendee_email",
        "session",
        "status",
        "order",
        "refunded_amount",
        "created_at",
    ]


class CertificateViewSet(SalesRecordViewSet):
    """Certificates and requests: approve, revoke, see the PDF; never edited."""

    model = Certificate
    icon = "doc-full"
    menu_label = "Certificates"
    url_prefix = "workshops/certificates"
    url_namespace = "workshops_certificates"
    index_view_class = CertificateIndexView
    inspect_view_class = CertificateInspectView
    filterset_class = CertificateFilterSet
    search_fields = ["code", "ticket__attendee_name", "ticket__attendee_email"]
    list_display = [
        Column("attendee", label="Attendee", accessor="ticket.attendee_name"),
        Column("email", label="Email", accessor="ticket.attendee_email"),
        Column("session", label="Session", accessor="ticket.session"),
        Column("status", label="Status", accessor="get_status_display"),
        "code",
        "requested_at",
    ]
    list_export = [
        "code",
        "status",
        "ticket__attendee_name",
        "ticket__attendee_email",
        "workshop_title",
        "session_date",
        "requested_at",
        "issued_at",
        "revoked_at",
    ]
    export_headings = {
        "ticket__attendee_name": "Attendee",
        "ticket__attendee_email": "Email",
    }
    inspect_view_fields = [
        "code",
        "status",
        "ticket",
        "attendee_name",
        "workshop_title",
        "session_date",
        "duration_minutes",
        "requested_at",
        "issued_at",
        "emailed_at",
        "revoked_at",
        "revoked_reason",
    ]


class InvoiceRequestViewSet(SalesRecordViewSet):
    """Groups' invoice requests: issue the invoice, record a payment; CSV export."""

    model = InvoiceRequest
    icon = "mail"
    menu_label = "Invoices"
    url_prefix = "workshops/invoice-requests"
    url_namespace = "workshops_invoice_requests"
    index_view_class = InvoiceRequestIndexView
    inspect_view_class = InvoiceRequestInspectView
    filterset_class = InvoiceRequestFilterSet
    search_fields = ["organisation", "contact_name", "email", "po_number"]
    list_display = [
        "organisation",
        "contact_name",
        "seats",
        Column("status", label="Status", accessor="get_status_display"),
        "paid_on",
        "created_at",
    ]
    list_export = [
        "organisation",
        "contact_name",
        "email",
        "seats",
        "po_number",
        "payment_method",
        "w9_wanted",
        "status",
        "unit_price",
        "stripe_invoice_number",
        "stripe_invoice_status",
        "paid_via",
        "paid_on",
        "amount_received",
        "payment_reference",
        "created_at",
    ]
    inspect_view_fields = [
        "organisation",
        "contact_name",
        "email",
        "seats",
        "po_number",
        "payment_method",
        "w9_wanted",
        "notes",
        "status",
        "unit_price",
        "stripe_invoice_id",
        "stripe_invoice_number",
        "stripe_invoice_status",
        "stripe_invoice_url",
        "due_on",
        "paid_via",
        "paid_on",
        "amount_received",
        "payment_reference",
        "seat_code_display",
        "created_at",
    ]


class SeatCodeViewSet(SalesRecordViewSet):
    """Seat codes with their redemptions: extend, add seats, void; CSV export."""

    model = SeatCode
    icon = "key"
    menu_label = "Seat codes"
    url_prefix = "workshops/seat-codes"
    url_namespace = "workshops_seat_codes"
    index_view_class = SeatCodeIndexView
    inspect_view_class = SeatCodeInspectView
    filterset_class = SeatCodeFilterSet
    search_fields = ["hint", "organisation", "buyer_name", "buyer_email"]
    list_display = [
        "__str__",
        "buyer_email",
        "seats",
        # Counted in the listing's query (SeatCodeQuerySet.with_seats_used).
        Column("used", label="Used", accessor="used"),
        "valid_until",
        "voided_at",
    ]
    list_export = [
        "hint",
        "organisation",
        "buyer_name",
        "buyer_email",
        "seats",
        "used",
        "paid_on",
        "valid_until",
        "workshop",
        "voided_at",
        "void_reason",
        "created_at",
    ]
    export_headings = {"hint": "Code ends with", "used": "Seats used"}
    inspect_view_fields = [
        "hint",
        "organisation",
        "buyer_name",
        "buyer_email",
        "seats",
        "seats_used",
        "paid_on",
        "valid_until",
        "workshop",
        "invoice_request",
        "voided_at",
        "void_reason",
        "created_at",
    ]


class SalesViewSetGroup(ViewSetGroup):
    """The admin's Sales menu: orders, attendees, certificates, invoices, codes."""

    menu_label = "Sales"
    menu_icon = "tag"
    menu_order = 250
    items = (
        OrderViewSet,
        TicketViewSet,
        CertificateViewSet,
        InvoiceRequestViewSet,
        SeatCodeViewSet,
    )
