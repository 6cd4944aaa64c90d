"""Registers inquiries with the Wagtail admin, and does nothing else.

The menu is in `viewsets`, the chart in `panels`, who may see what in
`permissions`, the status-change view in `admin_views`.
"""

from django.urls import path
from wagtail import hooks
from wagtail.permissions import register_permission_policy

from . import permissions
from .admin_views import StatusChangeView
from .models import STATUS_ACTIONS, ContactMessage, GroupTrainingRequest
from .panels import RequestDemandPanel
from .viewsets import InquiriesViewSetGroup

LOG_ACTIONS = {
    "inquiries.request.received": "Group-training request received",
    "inquiries.message.received": "Contact message received",
    "inquiries.notes": "Staff notes changed",
    **{
        action.log_action: f"Status: {action.label.lower()}"
        for action in STATUS_ACTIONS.values()
    },
}

register_permission_policy(
    GroupTrainingRequest, permissions.InquiryPolicy(GroupTrainingRequest)
)
register_permission_policy(ContactMessage, permissions.InquiryPolicy(ContactMessage))


@hooks.register("register_admin_viewset")
def register_inquiries_viewsets():
    return InquiriesViewSetGroup()


@hooks.register("register_log_actions")
def register_log_actions(actions):
    for action, label in LOG_ACTIONS.items():
        actions.register_action(action, label, label)


@hooks.register("register_admin_urls")
def register_status_urls():
    return [
        path(
            "inquiries/requests/<int:pk>/status/<slug:action>/",
            StatusChangeView.as_view(),
            name="inquiries_request_status",
        )
    ]


@hooks.register("construct_homepage_panels")
def add_demand_panel(request, panels):
    if permissions.may_view_requests(request.user):
        panels.append(RequestDemandPanel())
