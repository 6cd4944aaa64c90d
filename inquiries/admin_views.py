"""Inquiries in the Wagtail admin: listings, notes, and status changes."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.views.generic import EditView, HistoryView, IndexView, InspectView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import Button

from home.exports import export_safe

from . import services
from .models import STATUS_ACTIONS, GroupTrainingRequest, StatusChangeError
from .panels import RequestDemandPanel
from .permissions import may_change_requests

# Every typed field: they come from the public forms.
TYPED_FIELDS = ("organisation", "name", "email", "message", "notes")


class InquiryHistoryView(HistoryView):
    """Who changed what: open to those who may look at the inquiry."""

    any_permission_required = ["view", "change", "delete"]


class RequestIndexView(IndexView):
    """Requests, with the at-a-glance chart above them and status actions."""

    custom_field_preprocess = export_safe(*TYPED_FIELDS)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["demand_panel"] = RequestDemandPanel()
        return context

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        return buttons + status_buttons(self.request.user, instance)


class MessageIndexView(IndexView):
    custom_field_preprocess = export_safe(*TYPED_FIELDS)


class RequestInspectView(InspectView):
    @property
    def header_more_buttons(self):
        return status_buttons(self.request.user, self.object)


class NotesEditView(EditView):
    """Only the notes are edited, through the service, which logs the change."""

    def save_instance(self):
        return services.inquiry_update_notes(
            inquiry=self.object,
            notes=self.form.cleaned_data["notes"],
            user=self.request.user,
        )


def status_buttons(user, inquiry: GroupTrainingRequest) -> list[Button]:
    if not may_change_requests(user):
        return []
    return [
        Button(
            action.label,
            url=reverse("inquiries_request_status", args=[inquiry.pk, action.slug]),
            icon_name="resubmit",
            priority=40 + index,
        )
        for index, action in enumerate(inquiry.allowed_actions())
    ]


class StatusChangeView(
    PermissionRequiredMixin, WagtailAdminTemplateMixin, TemplateView
):
    """GET asks "Mark as contacted?"; the POST makes the change."""

    permission_required = "inquiries.change_grouptrainingrequest"
    template_name = "inquiries/admin/status_change.html"
    header_icon = "mail"

    def dispatch(self, request, *args, **kwargs):
        if kwargs["action"] not in STATUS_ACTIONS:
            raise Http404
        self.status_action = STATUS_ACTIONS[kwargs["action"]]
        return super().dispatch(request, *args, **kwargs)

    def get_inquiry(self) -> GroupTrainingRequest:
        return get_object_or_404(GroupTrainingRequest, pk=self.kwargs["pk"])

    def get_page_title(self):
        return self.status_action.label

    def get_context_data(self, **kwargs):
        inquiry = self.get_inquiry()
        return super().get_context_data(
            inquiry=inquiry,
            status_action=self.status_action,
            allowed=inquiry.status in self.status_action.allowed_from,
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        inquiry = self.get_inquiry()
        try:
            inquiry = services.group_training_request_change_status(
                request_id=inquiry.pk, action=self.status_action.slug, user=request.user
            )
        except StatusChangeError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"“{inquiry.organisation}” is now "
                f"{inquiry.get_status_display().lower()}.",
            )
        return redirect(reverse("inquiries_requests:inspect", args=[inquiry.pk]))
