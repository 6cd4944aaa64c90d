"""The admin's Inquiries menu: group-training requests and contact messages."""

from wagtail.admin.ui.tables import Column
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet

from . import admin_views
from .models import ContactMessage, GroupTrainingRequest


class GroupTrainingRequestViewSet(ModelViewSet):
    """Requests to plan from: filter by status, search, export, annotate."""

    model = GroupTrainingRequest
    icon = "group"
    menu_label = "Group training"
    url_prefix = "inquiries/requests"
    url_namespace = "inquiries_requests"
    index_view_class = admin_views.RequestIndexView
    index_template_name = "inquiries/admin/request_index.html"
    edit_view_class = admin_views.NotesEditView
    inspect_view_class = admin_views.RequestInspectView
    history_view_class = admin_views.InquiryHistoryView
    inspect_view_enabled = True
    copy_view_enabled = False
    form_fields = ["notes"]
    list_filter = ["status"]
    search_fields = ["organisation", "name", "email", "message", "notes"]
    search_backend_name = None  # plain database lookups: requests are not indexed
    list_display = [
        "organisation",
        "name",
        Column("months_display", label="Months"),
        "group_size",
        Column("status", label="Status", accessor="get_status_display"),
        "created_at",
    ]
    list_export = [
        "created_at",
        "status",
        "organisation",
        "name",
        "email",
        "group_size",
        "months_display",
        "time_zones_display",
        "message",
        "notes",
    ]
    export_headings = {"months_display": "Months", "time_zones_display": "Time zones"}
    export_filename = "group-training-requests"
    inspect_view_fields = [
        "organisation",
        "name",
        "email",
        "group_size",
        "months_display",
        "time_zones_display",
        "message",
        "status",
        "status_changed_at",
        "notes",
        "created_at",
    ]


class ContactMessageViewSet(ModelViewSet):
    """Messages from the contact page: search, export, annotate."""

    model = ContactMessage
    icon = "mail"
    menu_label = "Messages"
    url_prefix = "inquiries/messages"
    url_namespace = "inquiries_messages"
    index_view_class = admin_views.MessageIndexView
    edit_view_class = admin_views.NotesEditView
    history_view_class = admin_views.InquiryHistoryView
    inspect_view_enabled = True
    copy_view_enabled = False
    form_fields = ["notes"]
    search_fields = ["name", "email", "message", "notes"]
    search_backend_name = None
    list_display = ["name", "email", "created_at"]
    list_export = ["created_at", "name", "email", "message", "notes"]
    export_filename = "contact-messages"
    inspect_view_fields = ["name", "email", "message", "notes", "created_at"]


class InquiriesViewSetGroup(ViewSetGroup):
    """The admin's Inquiries menu."""

    menu_label = "Inquiries"
    menu_icon = "help"
    menu_order = 270
    items = (GroupTrainingRequestViewSet, ContactMessageViewSet)
