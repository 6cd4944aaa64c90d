"""Date-change notices and waiting lists in the Wagtail admin: the log, resends.

Both name people, so they follow the sales records' rules: the Sales group may
look (SalesRecordPolicy refuses add, change and delete by hand), and acts only
through the services.
"""

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.views.generic import FormView
from wagtail.admin import messages
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import IndexView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.widgets.button import Button, HeaderButton

from home.exports import export_safe

from . import services
from .formatting import session_when
from .models import NoticeState, SessionNotice, WaitlistEntry, WorkshopSession
from .services.notices import NoticeError, session_notices_resend_failed
from .viewsets import SalesRecordViewSet


class NoticeIndexView(IndexView):
    """Who was told of which change, when, and whether it reached the mail server."""

    page_title = "Date-change notices"
    custom_field_preprocess = export_safe("email")

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            # What each row's strs name: the ticket's order, the change's
            # session and its workshop, the session's workshop.
            .select_related(
                "ticket__order", "change__session__workshop", "session__workshop"
            )
        )

    @cached_property
    def header_buttons(self):
        """With the log filtered to one session that has failed notices: resend them."""
        buttons = super().header_buttons
        session_id = filtered_session(self.request)
        if session_id is None or not self.request.user.has_perm(
            "workshops.change_ticket"
        ):
            return buttons
        # As many as the resend would queue: not those a later change replaced.
        failed = (
            SessionNotice.objects.filter(
                session_id=session_id, state=NoticeState.FAILED
            )
            .current()
            .count()
        )
        if not failed:
            return buttons
        return [
            *buttons,
            HeaderButton(
                f"Send failed ones again ({failed})",
                url=reverse("workshops_notices:resend_failed", args=[session_id]),
                icon_name="mail",
            ),
        ]

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if instance.state in (
            NoticeState.QUEUED,
            NoticeState.SENDING,
        ) or not self.request.user.has_perm("workshops.change_ticket"):
            return buttons
        return [
            *buttons,
            Button(
                "Send again",
                url=reverse("workshops_notice_resend", args=[instance.pk]),
                icon_name="mail",
                priority=40,
            ),
        ]


class NoticeViewSet(SalesRecordViewSet):
    """The notice log: filter by session to see who heard of its change."""

    model = SessionNotice
    icon = "mail"
    menu_label = "Date-change notices"
    url_prefix = "workshops/notices"
    url_namespace = "workshops_notices"
    index_view_class = NoticeIndexView
    list_filter = ["state", "reason", "session"]
    search_fields = ["email", "ticket__attendee_name", "ticket__attendee_email"]
    list_display = [
        "ticket",
        Column("email", label="Sent to", accessor="email"),
        "session",
        Column("change", label="Change", accessor="change"),
        Column("reason", label="Why", accessor="get_reason_display"),
        "method",
        Column("state", label="State", accessor="get_state_display"),
        "sent_at",
        "detail",
    ]
    list_export = [
        "email",
        "session",
        "change",
        "reason",
        "method",
        "state",
        "created_at",
        "sent_at",
        "detail",
    ]

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path(
                "session/<int:session_id>/resend-failed/",
                ResendFailedNoticesView.as_view(),
                name="resend_failed",
            ),
        ]

    inspect_view_fields = [
        "ticket",
        "email",
        "session",
        "change",
        "reason",
        "method",
        "state",
        "attempts",
        "created_at",
        "sent_at",
        "detail",
    ]


class WaitlistIndexView(IndexView):
    """A session's waiting list, in the order people asked."""

    page_title = "Waiting lists"
    custom_field_preprocess = export_safe("name", "email")

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("session__workshop", "order")
            .order_by("session", "created_at", "pk")
        )


class WaitlistViewSet(SalesRecordViewSet):
    """Who waits for a seat in which session, and what became of their offer."""

    model = WaitlistEntry
    icon = "list-ol"
    menu_label = "Waiting lists"
    url_prefix = "workshops/waiting-lists"
    url_namespace = "workshops_waitlists"
    index_view_class = WaitlistIndexView
    list_filter = ["status", "session"]
    search_fields = ["name", "email"]
    list_display = [
        "name",
        "email",
        "session",
        Column("status", label="Status", accessor="get_status_display"),
        "created_at",
        "offer_expires_at",
    ]
    list_export = [
        "name",
        "email",
        "session",
        "status",
        "created_at",
        "offered_at",
        "offer_expires_at",
    ]
    inspect_view_fields = [
        "name",
        "email",
        "session",
        "status",
        "order",
        "created_at",
        "offered_at",
        "offer_expires_at",
    ]


class NoticesViewSetGroup(ViewSetGroup):
    """What holders and waiting people were told: its own menu beside Sales."""

    menu_label = "Notices"
    menu_icon = "mail"
    menu_order = 251
    items = (NoticeViewSet, WaitlistViewSet)


class ResendNoticeView(PermissionRequiredMixin, WagtailAdminTemplateMixin, FormView):
    """Send one notice again: it failed, it is uncertain, or the holder lost it."""

    permission_required = "workshops.change_ticket"
    template_name = "workshops/admin/notice_resend.html"
    header_icon = "mail"
    page_title = "Send the notice again"
    form_class = forms.Form

    def dispatch(self, request, *args, **kwargs):
        self.notice = get_object_or_404(
            SessionNotice.objects.select_related(
                "ticket", "change", "session__workshop"
            ),
            pk=kwargs["pk"],
        )
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        # A move's CANCEL or a withdrawal is for whoever held the seat then.
        return self.notice.name or self.notice.ticket.attendee_name

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            notice=self.notice,
            when=session_when(self.notice.session),
            on_its_way=self.notice.state in (NoticeState.QUEUED, NoticeState.SENDING),
            **kwargs,
        )

    def form_valid(self, form):
        try:
            services.session_notice_resend(
                notice_id=self.notice.pk, user=self.request.user
            )
        except services.NoticeError as error:
            messages.error(self.request, str(error))
        else:
            messages.success(
                self.request, "The notice is queued again; it goes in a moment."
            )
        return redirect(
            reverse("workshops_notices:index") + f"?session={self.notice.session_id}"
        )


def filtered_session(request) -> int | None:
    """The one session the notice log is filtered to, if it is."""
    values = request.GET.getlist("session")
    if len(values) == 1 and values[0].isdigit():
        return int(values[0])
    return None


class ResendFailedNoticesView(
    PermissionRequiredMixin, WagtailAdminTemplateMixin, FormView
):
    """Send a session's failed notices again, after an outage: confirm, then POST.

    The service queues only rows still failed, under their locks, so a second
    click (or a second tab) queues nothing and nobody gets two copies.
    """

    permission_required = "workshops.change_ticket"
    template_name = "workshops/admin/notice_resend_failed.html"
    header_icon = "mail"
    page_title = "Send failed notices again"
    form_class = forms.Form
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        self.session = get_object_or_404(
            WorkshopSession.objects.select_related("workshop"),
            pk=kwargs["session_id"],
        )
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return self.session.workshop.title

    def log_url(self) -> str:
        return reverse("workshops_notices:index") + f"?session={self.session.pk}"

    def get_context_data(self, **kwargs):
        notices = SessionNotice.objects.filter(session=self.session)
        return super().get_context_data(
            session=self.session,
            when=session_when(self.session),
            failed=list(
                notices.filter(state=NoticeState.FAILED)
                .current()
                .select_related("ticket__order")
                .order_by("pk")
            ),
            uncertain=notices.filter(state=NoticeState.UNCERTAIN).count(),
            log_url=self.log_url(),
            **kwargs,
        )

    def form_valid(self, form):
        try:
            queued = session_notices_resend_failed(
                session_id=self.session.pk, user=self.request.user
            )
        except NoticeError as error:
            messages.error(self.request, str(error))
        else:
            if queued:
                messages.success(
                    self.request,
                    f"{queued} failed notice{'s' if queued != 1 else ''} queued "
                    "again; they go in a moment.",
                )
            else:
                messages.warning(
                    self.request,
                    "No failed notices to send again: they are on their way or sent.",
                )
        return redirect(self.log_url())
