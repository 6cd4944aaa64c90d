"""The Newsletter menu in the admin: mailing lists, subscribers and sends."""

import django_filters
from django.urls import path
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.viewsets.base import ViewSet
from wagtail.snippets.views import chooser
from wagtail.snippets.views.chooser import SnippetChooserViewSet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from . import admin_views, announce_views, permissions, selectors, send_views
from .models import MailingList, Subscriber, SubscriptionStatus


def source_choices() -> list[tuple[str, str]]:
    return [(source, source) for source in selectors.subscriber_sources()]


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
        return selectors.subscribers_with_subscription(
            queryset,
            mailing_list=self.form.cleaned_data.get("mailing_list"),
            status=self.form.cleaned_data.get("status"),
        )


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
        return selectors.lists_with_confirmed_count()


def _permission_checked(view_class: type, permission: str) -> type:
    """`view_class`, refusing anyone without `permission` on its model."""
    return type(
        view_class.__name__,
        (PermissionCheckedMixin, view_class),
        {"permission_required": permission},
    )


class PrivateChooserViewSet(SnippetChooserViewSet):
    """A snippet chooser for personal data: only for those who may view it.

    Wagtail's snippet choosers check no permission of their own, so any admin
    user could list and pick any subscriber by address.
    """

    choose_view_class = _permission_checked(chooser.ChooseView, "view")
    choose_results_view_class = _permission_checked(chooser.ChooseResultsView, "view")
    chosen_view_class = _permission_checked(chooser.SnippetChosenView, "view")
    chosen_multiple_view_class = _permission_checked(
        chooser.SnippetChosenMultipleView, "view"
    )
    create_view_class = _permission_checked(chooser.SnippetCreateView, "add")


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
    chooser_viewset_class = PrivateChooserViewSet

    def get_queryset(self, request):
        return selectors.subscribers_with_lists()

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path(
                "import/",
                admin_views.SubscriberImportView.as_view(),
                name="import",
            ),
            path("import/<int:pk>/", admin_views.import_detail, name="import_detail"),
            path(
                "import/<int:pk>/progress/",
                admin_views.import_progress,
                name="import_progress",
            ),
            path(
                "import/<int:pk>/<slug:action>/",
                admin_views.import_action,
                name="import_action",
            ),
            path("data/<int:pk>/", admin_views.subscriber_data_view, name="data"),
        ]


class SendsMenuItem(MenuItem):
    """Shown to those who may see sends."""

    def is_shown(self, request):
        return permissions.may_view(request.user)


class SendViewSet(ViewSet):
    """The Sends section of the Newsletter menu."""

    name = "newsletter_sends"
    url_prefix = "newsletter/sends"
    icon = "mail"
    menu_label = "Sends"
    menu_icon = "mail"

    menu_item_class = SendsMenuItem

    def get_urlpatterns(self):
        return [
            path("", send_views.send_index, name="index"),
            path("dates/", announce_views.announce_dates, name="announce_dates"),
            path("new/<int:page_id>/", send_views.send_create, name="create"),
            path("<int:pk>/", send_views.send_detail, name="detail"),
            path("<int:pk>/progress/", send_views.send_progress, name="progress"),
            path("<int:pk>/email/", send_views.send_email, name="email"),
            path("<int:pk>/<slug:action>/", send_views.send_action, name="action"),
        ]


class NewsletterViewSetGroup(SnippetViewSetGroup):
    """The Newsletter menu."""

    items = (MailingListViewSet, SubscriberViewSet, SendViewSet)
    menu_icon = "mail"
    menu_label = "Newsletter"
    menu_name = "newsletter"
