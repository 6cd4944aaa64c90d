"""The newsletter in the Wagtail admin: lists, subscribers, sends, a dashboard panel."""

import django_filters
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.shortcuts import redirect
from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.action_menu import ActionMenuItem
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column
from wagtail.admin.widgets.button import Button
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from . import admin_views, send_views
from .models import (
    MailingList,
    NewsletterIssuePage,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)

SEND_TEST_ACTION = "action-newsletter-test"


def source_choices() -> list[tuple[str, str]]:
    sources = (
        Subscriber.objects.order_by("source")
        .values_list("source", flat=True)
        .distinct()
    )
    return [(source, source) for source in sources]


class SubscriberFilterSet(WagtailFilterSet):
    """List and status filter one subscription together, not any two."""

    mailing_list = django_filters.ModelChoiceFilter(
        label="List",
        queryset=MailingList.objects.all(),
        method="filter_subscription",
    )
    status = django_filters.ChoiceFilter(
        label="Status",
        choices=SubscriptionStatus.choices,
        method="filter_subscription",
    )
    source = django_filters.ChoiceFilter(label="Source", choices=source_choices)

    class Meta:
        model = Subscriber
        fields = ["mailing_list", "status", "source"]

    def filter_subscription(self, queryset, name, value):
        # Applied in filter_queryset, where both values are known.
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        mailing_list = self.form.cleaned_data.get("mailing_list")
        status = self.form.cleaned_data.get("status")
        if mailing_list or status:
            matching = Subscription.objects.filter(subscriber=OuterRef("pk"))
            if mailing_list:
                matching = matching.filter(mailing_list=mailing_list)
            if status:
                matching = matching.filter(status=status)
            queryset = queryset.filter(Exists(matching))
        return queryset


class MailingListViewSet(SnippetViewSet):
    """Mailing lists: what people can subscribe to."""

    model = MailingList
    icon = "list-ul"
    admin_url_namespace = "newsletter_list"
    base_url_path = "newsletter/lists"
    menu_label = "Mailing lists"
    list_display = [
        "name",
        "is_public",
        "double_opt_in",
        Column("confirmed_count", label="Confirmed subscribers"),
    ]

    def get_queryset(self, request):
        return MailingList.objects.annotate(
            confirmed_count=Count(
                "subscriptions",
                filter=Q(subscriptions__status=SubscriptionStatus.CONFIRMED),
            )
        )


class SubscriberViewSet(SnippetViewSet):
    """Subscribers: search, filters, CSV import, CSV or XLSX export, data, erasure."""

    model = Subscriber
    icon = "user"
    admin_url_namespace = "newsletter_subscriber"
    base_url_path = "newsletter/subscribers"
    menu_label = "Subscribers"
    list_display = [
        "email",
        "name",
        Column("subscription_summary", label="Lists"),
        "source",
        "created_at",
    ]
    list_per_page = 50
    filterset_class = SubscriberFilterSet
    search_fields = ["email", "name"]
    # The ORM's search: subscribers are not worth a search index, and bulk
    # imports would leave one stale.
    search_backend_name = None
    list_export = ["email", "name", "subscription_summary", "source", "created_at"]
    export_headings = {"subscription_summary": "Lists"}
    export_filename = "subscribers"
    inspect_view_enabled = True
    index_view_class = admin_views.SubscriberIndexView
    add_view_class = admin_views.SubscriberCreateView
    delete_view_class = admin_views.SubscriberEraseView
    inspect_view_class = admin_views.SubscriberInspectView

    def get_queryset(self, request):
        return Subscriber.objects.prefetch_related("subscriptions__mailing_list")

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path(
                "import/",
                admin_views.SubscriberImportView.as_view(),
                name="import",
            ),
            path("data/<int:pk>/", admin_views.subscriber_data_view, name="data"),
        ]


class NewsletterViewSetGroup(SnippetViewSetGroup):
    """The Newsletter menu."""

    items = (MailingListViewSet, SubscriberViewSet, send_views.SendViewSet)
    menu_icon = "mail"
    menu_label = "Newsletter"
    menu_name = "newsletter"


register_snippet(NewsletterViewSetGroup)


@hooks.register("construct_homepage_panels")
def add_growth_panel(request, panels):
    if request.user.has_perm("newsletter.view_subscriber") or any(
        request.user.has_perm(f"newsletter.{action}_subscriber")
        for action in ("add", "change", "delete")
    ):
        panels.append(admin_views.SubscriberGrowthPanel())


@hooks.register("before_delete_snippet")
def refuse_bulk_subscriber_delete(request, instances):
    if any(isinstance(instance, Subscriber) for instance in instances):
        messages.error(
            request,
            "Subscribers are erased one at a time, from the subscriber's own "
            "menu, so that each erasure is deliberate.",
        )
        return redirect("newsletter_subscriber:list")
    return None


@hooks.register("register_log_actions")
def register_log_actions(actions):
    actions.register_action(
        "newsletter.import", "Import subscribers", "Imported subscribers from CSV"
    )
    actions.register_action(
        "newsletter.erase", "Erase subscriber", "Erased a subscriber's data"
    )
    for action, label, message in (
        ("send", "Send issue", "Started sending the issue to a list"),
        ("send_scheduled", "Schedule issue", "Scheduled the issue for a list"),
        ("send_paused", "Pause send", "Paused sending"),
        ("send_resumed", "Resume send", "Resumed sending"),
        ("send_cancelled", "Cancel send", "Cancelled sending"),
        ("uncertain_resolved", "Settle uncertain", "Settled uncertain deliveries"),
        ("test_sent", "Send test", "Sent a test of the issue"),
    ):
        actions.register_action(f"newsletter.{action}", label, message)


def _is_issue(page) -> bool:
    return page is not None and isinstance(page.specific, NewsletterIssuePage)


class SendTestMenuItem(ActionMenuItem):
    """Save the draft, then email it to the editor, in one press."""

    name = SEND_TEST_ACTION
    label = "Save draft and send a test to me"
    icon_name = "mail"
    order = 30

    def is_shown(self, context):
        return (
            context["view"] == "edit"
            and not context.get("locked_for_user")
            and _is_issue(context.get("page"))
            and context["request"].user.has_perm("newsletter.send_test_issue")
        )


@hooks.register("register_page_action_menu_item")
def register_send_test_menu_item():
    return SendTestMenuItem()


@hooks.register("after_edit_page")
def send_test_after_save(request, page):
    if SEND_TEST_ACTION not in request.POST or not _is_issue(page):
        return None
    user = request.user
    if not user.has_perm("newsletter.send_test_issue"):
        return None
    if not user.email:
        messages.error(request, "Add an email address to your account to get tests.")
        return None
    from . import tasks

    revision_id = page.latest_revision_id
    transaction.on_commit(
        lambda: tasks.issue_send_test.enqueue(page.pk, revision_id, user.pk)
    )
    messages.success(
        request, f"A test of this issue as just saved is on its way to {user.email}."
    )
    return None


@hooks.register("register_page_header_buttons")
def issue_header_buttons(page, user, view_name, next_url=None):
    if not _is_issue(page):
        return
    if send_views.may_send(user):
        yield Button(
            "Send to a list…",
            url=reverse("newsletter_sends:create", args=[page.pk]),
            icon_name="mail",
            priority=5,
        )
    if send_views.may_view(user):
        yield Button(
            "Sends and figures",
            url=reverse("newsletter_sends:index"),
            icon_name="list-ul",
            priority=6,
        )
