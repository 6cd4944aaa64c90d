"""Staff views for sending issues: choose, confirm, watch, pause, resume, cancel."""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import rendering, selectors, services
from .forms_sending import SendForm
from .models import (
    DeliveryState,
    IssueSend,
    MailingList,
    NewsletterIssuePage,
    SendStatus,
)
from .permissions import may_send, may_subscriber, may_view
from .sending import providers


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def send_index(request: HttpRequest) -> HttpResponse:
    """Every send, newest first, with how far it got."""
    _require(may_view(request.user))
    sends = Paginator(IssueSend.objects.select_related("issue"), 25).get_page(
        request.GET.get("p")
    )
    rows = [(send, selectors.send_figures(send_id=send.pk)) for send in sends]
    return TemplateResponse(
        request,
        "newsletter/admin/send_index.html",
        {
            "page_title": "Sends",
            "header_icon": "mail",
            "rows": rows,
            "sends": sends,
            "issues": NewsletterIssuePage.objects.live().order_by("-issue_date")[:20],
            "may_send": may_send(request.user),
        },
    )


def send_create(request: HttpRequest, page_id: int) -> HttpResponse:
    """Pick the list and the time, see the number of recipients, confirm."""
    _require(may_send(request.user))
    issue = get_object_or_404(NewsletterIssuePage, pk=page_id)
    counts = {
        mailing_list.pk: selectors.recipient_count(
            issue=issue, mailing_list=mailing_list
        )
        for mailing_list in MailingList.objects.all()
    }
    form = SendForm(request.POST or None, counts=counts)
    confirming = False
    if request.method == "POST" and form.is_valid():
        mailing_list = form.cleaned_data["mailing_list"]
        if form.cleaned_data["confirmed"]:
            try:
                send = services.issue_send_create(
                    issue=issue,
                    mailing_list=mailing_list,
                    user=request.user,
                    scheduled_at=form.cleaned_data["scheduled_at"],
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(
                    request,
                    f"Scheduled “{issue.title}” for {mailing_list.name}."
                    if form.cleaned_data["scheduled_at"]
                    else f"Sending “{issue.title}” to {mailing_list.name}.",
                )
                return redirect("newsletter_sends:detail", send.pk)
        else:
            confirming = True
            data = request.POST.copy()
            data["confirmed"] = "True"
            form = SendForm(data, counts=counts)
            form.is_valid()
    profile = providers.profile_for()
    return TemplateResponse(
        request,
        "newsletter/admin/send_form.html",
        {
            "page_title": f"Send “{issue.title}”",
            "header_icon": "mail",
            "issue": issue,
            "form": form,
            "confirming": confirming,
            "count": counts.get(form.cleaned_data["mailing_list"].pk, 0)
            if confirming
            else None,
            "can_schedule": services.backend_can_schedule(),
            "profile": profile,
            "active": IssueSend.objects.filter(
                issue=issue,
                status__in=[
                    SendStatus.SCHEDULED,
                    SendStatus.SENDING,
                    SendStatus.PAUSED,
                ],
            ).first(),
        },
    )


def send_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One send: its progress bar, figures, and what staff can do about it."""
    _require(may_view(request.user))
    send = get_object_or_404(IssueSend.objects.select_related("issue"), pk=pk)
    figures = selectors.send_figures(send_id=send.pk)
    return TemplateResponse(
        request,
        "newsletter/admin/send_detail.html",
        {
            "page_title": str(send),
            "header_icon": "mail",
            "send": send,
            "figures": figures,
            "issue_figures": selectors.issue_figures(issue_id=send.issue_id)
            if send.issue_id
            else None,
            "may_send": may_send(request.user),
            "may_see_people": may_subscriber(request.user, "view"),
            "uncertain": send.deliveries.filter(state=DeliveryState.UNCERTAIN)
            .select_related("subscriber")
            .order_by("pk")[:50],
            "failed": send.deliveries.filter(state=DeliveryState.FAILED)
            .select_related("subscriber")
            .order_by("pk")[:50],
            "stale": selectors.send_is_stale(send=send),
            "progress_url": reverse("newsletter_sends:progress", args=[send.pk]),
            "progress_json": json.dumps(_progress(send, figures)),
        },
    )


def _progress(send: IssueSend, figures: dict) -> dict:
    return {
        "status": send.status,
        "status_label": send.get_status_display(),
        "pause_reason": send.pause_reason,
        "figures": figures,
    }


def send_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """The figures of one send, for the progress bar to poll."""
    _require(may_view(request.user))
    send = get_object_or_404(IssueSend, pk=pk)
    return JsonResponse(_progress(send, selectors.send_figures(send_id=send.pk)))


def send_email(request: HttpRequest, pk: int) -> HttpResponse:
    """The email exactly as frozen for this send, with sample personal parts."""
    _require(may_view(request.user))
    send = get_object_or_404(IssueSend, pk=pk)
    if not send.html:
        return HttpResponse("This send has not started; nothing is frozen yet.")
    profile = providers.profile_for(send.email_backend)
    placeholder = providers.placeholder_format(mode=send.mode, profile=profile)
    html = rendering.PersonalTemplate(send.html, placeholder).fill(
        rendering.sample_values(name=request.user.first_name)
    )
    response = HttpResponse(html)
    # The frozen email is our own HTML; keep it from running in the admin's origin.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src *"
    return response


@require_POST
def send_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Pause, resume or cancel a send, or settle its uncertain deliveries."""
    _require(may_send(request.user))
    send = get_object_or_404(IssueSend, pk=pk)
    user = request.user
    if action == "pause":
        done = services.issue_send_pause(send_id=send.pk, user=user)
        message = "Paused. Batches already with the provider will finish."
    elif action == "resume":
        done = services.issue_send_resume(send_id=send.pk, user=user)
        message = "Sending again."
    elif action == "cancel":
        done = services.issue_send_cancel(send_id=send.pk, user=user)
        message = "Cancelled. Nobody else will receive this send."
    elif action in ("resend-uncertain", "drop-uncertain"):
        try:
            changed = services.deliveries_resolve_uncertain(
                send_id=send.pk, resend=action == "resend-uncertain", user=user
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("newsletter_sends:detail", send.pk)
        done = bool(changed)
        message = (
            f"{changed} uncertain deliveries queued again."
            if action == "resend-uncertain"
            else f"{changed} uncertain deliveries marked as not sent."
        )
    else:
        raise PermissionDenied
    if done:
        messages.success(request, message)
    else:
        messages.warning(request, "Nothing changed: the send's state did not allow it.")
    return redirect("newsletter_sends:detail", send.pk)
