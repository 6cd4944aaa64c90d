import django_filters
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from laces.components import Component
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import HistoryView, IndexView, InspectView
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import Button
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from home.exports import export_safe

from .admin_views import CancelTicketView, MoveTicketView
from .formatting import session_when
from .models import (
    Order,
    Ticket,
    TicketStatus,
    TicketType,
    WorkshopSession,
    seat_holding_q,
)

LOG_ACTIONS = {
    "workshops.order.created": "Order created, seats held",
    "workshops.order.paid": "Order paid",
    "workshops.order.processing": "Payment processing",
    "workshops.order.released": "Seats released",
    "workshops.order.refunded_no_seats": "Refunded: paid after the seats had gone",
    "workshops.ticket.cancelled": "Ticket cancelled",
    "workshops.ticket.moved": "Attendee moved to another session",
    "workshops.ticket.attendee_changed": "Attendee details changed",
}


@hooks.register("before_delete_page")
def keep_pages_with_sold_sessions(request, page):
    """A page whose sessions sold tickets stays: its buyers' records need it."""
    sold = Ticket.objects.filter(session__workshop__path__startswith=page.path).exists()
    if sold:
        messages.error(
            request,
            f"“{page.title}” has sessions with tickets, so it cannot be deleted. "
            "Cancel the sessions, or unpublish the page instead.",
        )
        return redirect("wagtailadmin_pages:edit", page.pk)
    return None


@hooks.register("register_log_actions")
def register_log_actions(actions):
    for action, label in LOG_ACTIONS.items():
        actions.register_action(action, label, label)


class SalesRecordPolicy(ModelPermissionPolicy):
    """Orders and tickets change only through the services: staff may look,
    and act through the cancel and move views, but not edit rows by hand."""

    def user_has_permission(self, user, action):
        if action in {"add", "change", "delete"}:
            return False
        return super().user_has_permission(user, action)


register_permission_policy(Order, SalesRecordPolicy(Order))
register_permission_policy(Ticket, SalesRecordPolicy(Ticket))


class TicketTypeViewSet(SnippetViewSet):
    """Editors set what is sold; only the Sales group sees who bought it."""

    model = TicketType
    icon = "tag"
    menu_label = "Ticket types"
    menu_order = 260
    add_to_admin_menu = True
    list_display = ["name", "price", "seats_per_ticket", "active"]
    list_filter = ["active", "workshops"]


register_snippet(TicketTypeViewSet)


class SalesHistoryView(HistoryView):
    """Who changed what: open to those who may look, as nobody edits by hand."""

    any_permission_required = ["view"]


def session_filter() -> django_filters.ModelChoiceFilter:
    # A session's name is its workshop's title: fetched with it, not once per
    # option of the dropdown.
    return django_filters.ModelChoiceFilter(
        queryset=WorkshopSession.objects.select_related("workshop")
    )


class OrderFilterSet(WagtailFilterSet):
    session = session_filter()

    class Meta:
        model = Order
        fields = ["status", "payment_method", "session"]


class OrderIndexView(IndexView):
    # Names and addresses come from the public booking form.
    custom_field_preprocess = export_safe("buyer_name", "buyer_email")

    def get_queryset(self):
        return super().get_queryset().select_related("session__workshop", "ticket_type")


class OrderViewSet(ModelViewSet):
    model = Order
    icon = "form"
    menu_label = "Orders"
    url_prefix = "workshops/orders"
    url_namespace = "workshops_orders"
    index_view_class = OrderIndexView
    inspect_view_enabled = True
    history_view_class = SalesHistoryView
    copy_view_enabled = False
    form_fields: list[str] = []  # never edited by hand (SalesRecordPolicy)
    filterset_class = OrderFilterSet
    search_fields = ["reference", "buyer_name", "buyer_email"]
    search_backend_name = None  # plain database lookups: orders are not indexed
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
    ]


class TicketFilterSet(WagtailFilterSet):
    session = session_filter()

    class Meta:
        model = Ticket
        fields = ["session", "status"]


class TicketIndexView(IndexView):
    custom_field_preprocess = export_safe("attendee_name", "attendee_email")

    def get_queryset(self):
        return super().get_queryset().select_related("order", "session__workshop")

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        return buttons + ticket_action_buttons(self.request.user, instance)


class TicketInspectView(InspectView):
    @property
    def header_more_buttons(self):
        return ticket_action_buttons(self.request.user, self.object)


def ticket_action_buttons(user, ticket: Ticket) -> list[Button]:
    if ticket.status != TicketStatus.VALID or not user.has_perm(
        "workshops.change_ticket"
    ):
        return []
    return [
        Button(
            "Move to another session",
            url=reverse("workshops_ticket_move", args=[ticket.pk]),
            icon_name="resubmit",
            priority=40,
        ),
        Button(
            "Cancel and refund",
            url=reverse("workshops_ticket_cancel", args=[ticket.pk]),
            icon_name="bin",
            priority=50,
        ),
    ]


class TicketViewSet(ModelViewSet):
    """Attendees: filter by session for an attendee list, export it as CSV."""

    model = Ticket
    icon = "user"
    menu_label = "Attendees"
    url_prefix = "workshops/tickets"
    url_namespace = "workshops_tickets"
    index_view_class = TicketIndexView
    inspect_view_class = TicketInspectView
    inspect_view_enabled = True
    history_view_class = SalesHistoryView
    copy_view_enabled = False
    form_fields: list[str] = []
    filterset_class = TicketFilterSet
    search_fields = ["attendee_name", "attendee_email", "order__reference"]
    search_backend_name = None
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


class SalesViewSetGroup(ViewSetGroup):
    menu_label = "Sales"
    menu_icon = "tag"
    menu_order = 250
    items = (OrderViewSet, TicketViewSet)


@hooks.register("register_admin_viewset")
def register_sales_viewsets():
    return SalesViewSetGroup()


@hooks.register("register_admin_urls")
def register_ticket_action_urls():
    return [
        path(
            "workshops/tickets/<int:pk>/cancel/",
            CancelTicketView.as_view(),
            name="workshops_ticket_cancel",
        ),
        path(
            "workshops/tickets/<int:pk>/move/",
            MoveTicketView.as_view(),
            name="workshops_ticket_move",
        ),
    ]


class SeatsPanel(Component):
    """The dashboard's view of sales: sold and held seats per upcoming session."""

    name = "seats_sold"
    order = 120
    template_name = "workshops/admin/seats_panel.html"

    def get_context_data(self, parent_context=None):
        now = timezone.now()
        sessions = (
            WorkshopSession.objects.filter(ends_at__gt=now)
            .select_related("workshop")
            .annotate(
                sold=Count("tickets", filter=Q(tickets__status=TicketStatus.VALID)),
                taken=Count(
                    "tickets", filter=seat_holding_q(now=now, prefix="tickets__")
                ),
            )
            .order_by("starts_at")[:20]
        )
        return {
            "sessions": [
                {
                    "session": session,
                    "sold": session.sold,
                    "held": session.taken - session.sold,
                    "when": session_when(session),
                }
                for session in sessions
            ]
        }


@hooks.register("construct_homepage_panels")
def add_seats_panel(request, panels):
    if request.user.has_perm("workshops.view_ticket"):
        panels.append(SeatsPanel())
