"""Staff views for subscribers: the list, import, one person's data, erasure."""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.http import require_POST
from django.views.generic import FormView
from wagtail.admin.views.generic import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import Button, HeaderButton
from wagtail.snippets.bulk_actions.delete import DeleteBulkAction
from wagtail.snippets.views.snippets import (
    CreateView,
    DeleteView,
    IndexView,
    InspectView,
)

from home.exports import export_safe

from . import selectors, services
from .forms import ImportForm
from .models import ImportStatus, Subscriber, SubscriberImport, Suppression
from .permissions import may_subscriber


class SubscriberIndexView(IndexView):
    """The subscriber list, with import in the header and CSV or XLSX export."""

    custom_field_preprocess = export_safe(
        "email", "name", "subscription_summary", "source"
    )

    @cached_property
    def header_buttons(self):
        buttons = [
            button
            for button in super().header_buttons
            if button is not getattr(self, "add_button", None)
        ]
        if may_subscriber(self.request.user, "add"):
            buttons.append(
                HeaderButton(
                    "Import CSV",
                    url=reverse("newsletter_subscriber:import"),
                    icon_name="upload",
                )
            )
        return buttons


class SubscriberCreateView(CreateView):
    """Staff add people by import, where a consent source is required."""

    def dispatch(self, request, *args, **kwargs):
        return redirect("newsletter_subscriber:import")


class SubscriberEraseView(DeleteView):
    """Deleting a subscriber here is erasure: data gone, the address suppressed."""

    page_title = "Erase"
    success_message = "The subscriber's data is erased; their address stays suppressed."

    def run_before_hook(self):
        # The before_delete_snippet hook turns away bulk deletes of subscribers;
        # this view is the way to do it, one person at a time.
        return None

    @property
    def confirmation_message(self):
        return (
            "Erase everything stored about this person: their subscriptions and "
            "consent history. Only a hash of the address is kept, so that no "
            "later import or form can mail them without a fresh confirmation."
        )

    def get_success_message(self):
        return self.success_message

    def delete_action(self):
        services.subscriber_erase(subscriber=self.object, user=self.request.user)


class SubscriberBulkDelete(DeleteBulkAction):
    """Wagtail's bulk delete, for subscribers: refused outright without permission.

    Wagtail's own lists each chosen subscriber, address and all, before saying
    "you don't have permission"; this one says it without listing anyone.
    """

    models = [Subscriber]

    def dispatch(self, request, *args, **kwargs):
        if not may_subscriber(request.user, "delete"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def refuse_bulk_subscriber_delete(request, instances):
    """Turn away a bulk delete that includes subscribers (`before_delete_snippet`)."""
    if any(isinstance(instance, Subscriber) for instance in instances):
        messages.error(
            request,
            "Subscribers are erased one at a time, from the subscriber's own "
            "menu, so that each erasure is deliberate.",
        )
        return redirect("newsletter_subscriber:list")
    return None


class SubscriberInspectView(InspectView):
    """One person: their subscriptions, consent history, and what staff may do."""

    template_name = "newsletter/admin/subscriber_inspect.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        subscriber = self.object
        context["subscriptions"] = subscriber.subscriptions.select_related(
            "mailing_list"
        ).order_by("mailing_list__name")
        context["consent_records"] = subscriber.consent_records.select_related(
            "consent_text"
        )
        context["suppression"] = Suppression.objects.filter(
            email_hash=subscriber.email_hash
        ).first()
        return context

    @cached_property
    def header_more_buttons(self):
        buttons = list(super().header_more_buttons)
        buttons.append(
            Button(
                "Download data (JSON)",
                url=reverse("newsletter_subscriber:data", args=[self.object.pk]),
                icon_name="download",
                priority=40,
            )
        )
        return buttons


def subscriber_data_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything stored about one person, as a JSON file to hand to them."""
    if not (
        may_subscriber(request.user, "change") or may_subscriber(request.user, "delete")
    ):
        raise PermissionDenied
    subscriber = get_object_or_404(Subscriber, pk=pk)
    data = selectors.subscriber_data(subscriber=subscriber)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="subscriber-{subscriber.pk}.json"'
    )
    return response


class SubscriberImportView(WagtailAdminTemplateMixin, FormView):
    """Upload a CSV of people who agreed elsewhere; the result counts every row."""

    form_class = ImportForm
    template_name = "newsletter/admin/import.html"
    page_title = "Import subscribers"
    header_icon = "upload"

    def dispatch(self, request, *args, **kwargs):
        if not may_subscriber(request.user, "add"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("newsletter_subscriber:list"), "label": "Subscribers"},
            {"url": "", "label": self.page_title},
        ]

    def form_valid(self, form):
        job = services.subscribers_import_start(
            rows=form.cleaned_data["file"],
            mailing_lists=list(form.cleaned_data["mailing_lists"]),
            consent_source=form.cleaned_data["consent_source"],
            file_name=self.request.FILES["file"].name,
            user=self.request.user,
        )
        return redirect("newsletter_subscriber:import_detail", job.pk)


def _import_job(request: HttpRequest, pk: int) -> SubscriberImport:
    if not may_subscriber(request.user, "add"):
        raise PermissionDenied
    return get_object_or_404(SubscriberImport, pk=pk)


def _import_progress(job: SubscriberImport) -> dict:
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "percent": job.percent,
        "done": job.done,
        "total": job.total,
        "finished": job.status in (ImportStatus.FINISHED, ImportStatus.FAILED),
    }


def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One import: a progress bar while it runs, then what it did."""
    job = _import_job(request, pk)
    return TemplateResponse(
        request,
        "newsletter/admin/import_detail.html",
        {
            "page_title": "Import subscribers",
            "header_icon": "upload",
            "job": job,
            "lists": job.mailing_lists.all(),
            "stalled": job.is_stalled(now=timezone.now()),
            "progress_url": reverse("newsletter_subscriber:import_progress", args=[pk]),
            "breadcrumbs_items": [
                {"url": reverse("wagtailadmin_home"), "label": "Home"},
                {"url": reverse("newsletter_subscriber:list"), "label": "Subscribers"},
                {"url": "", "label": "Import"},
            ],
        },
    )


IMPORT_ACTIONS = {
    "resume": (
        services.subscribers_import_resume,
        "The import is queued again; it carries on where it stopped.",
    ),
    "discard": (
        services.subscribers_import_discard,
        "The file is discarded; what the import wrote before stays.",
    ),
}


@require_POST
def import_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Resume an import that stopped, or discard its file."""
    job = _import_job(request, pk)
    if action not in IMPORT_ACTIONS:
        raise Http404
    service, done = IMPORT_ACTIONS[action]
    if service(import_id=job.pk):
        messages.success(request, done)
    else:
        messages.warning(
            request, "Nothing changed: the import's state did not allow it."
        )
    return redirect("newsletter_subscriber:import_detail", job.pk)


def import_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """How far an import has got, for its progress bar to poll."""
    return JsonResponse(_import_progress(_import_job(request, pk)))
