"""Staff view: announce newly published workshop dates to the dates list."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from workshops.formatting import session_when

from . import services
from .permissions import may_send


def announce_dates(request: HttpRequest) -> HttpResponse:
    """'Announce N new dates': each with the subscribers it suits; confirm; send."""
    if not may_send(request.user):
        raise PermissionDenied
    mailing_list = services.dates_list()
    candidates = services.announcement_candidates()
    context = {
        "page_title": "Announce new dates",
        "header_icon": "date",
        "mailing_list": mailing_list,
        "confirming": False,
    }
    if mailing_list is None or not candidates:
        return TemplateResponse(
            request, "newsletter/admin/announce_dates.html", context
        )
    plan = services.announcement_plan(mailing_list=mailing_list, sessions=candidates)
    chosen_ids = {session.pk for session in candidates}
    if request.method == "POST":
        chosen_ids = {
            int(value)
            for value in request.POST.getlist("session")
            if value.isdigit() and int(value) in chosen_ids
        }
        chosen = [session for session in candidates if session.pk in chosen_ids]
        if not chosen:
            messages.error(request, "Choose at least one date to announce.")
        elif request.POST.get("confirmed") == "yes":
            try:
                send = services.announcement_send(
                    session_ids=[session.pk for session in chosen],
                    mailing_list_id=mailing_list.pk,
                    user=request.user,
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                dates = f"{len(chosen)} new date{'s' if len(chosen) != 1 else ''}"
                messages.success(request, f"Announcing {dates} to {mailing_list.name}.")
                return redirect("newsletter_sends:detail", send.pk)
        else:
            context["confirming"] = True
            context["chosen_plan"] = services.announcement_plan(
                mailing_list=mailing_list, sessions=chosen
            )
    context["rows"] = [
        {
            "session": session,
            "when": session_when(session),
            "count": plan.per_session[session.pk],
            "chosen": session.pk in chosen_ids,
        }
        for session in candidates
    ]
    context["plan"] = plan
    return TemplateResponse(request, "newsletter/admin/announce_dates.html", context)
