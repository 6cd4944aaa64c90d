"""The waiting list: join a sold-out session; take (or let go of) an offered seat."""

import logging

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from home import throttle

from .. import payments, services
from ..forms_notices import WaitlistJoinForm
from ..models import (
    OrderStatus,
    PaymentMethod,
    WaitlistEntry,
    WaitlistStatus,
    WorkshopSession,
)
from .checkout import stripe_checkout_url

logger = logging.getLogger(__name__)

JOINS_PER_HOUR = 10


def waitlist_join(request: HttpRequest, session_pk: int) -> HttpResponse:
    """'Tell me if a seat frees up' for a sold-out session."""
    session = get_object_or_404(
        WorkshopSession.objects.select_related("workshop").filter(workshop__live=True),
        pk=session_pk,
    )
    form = WaitlistJoinForm(request.POST or None)
    context = {"session": session, "page": session.workshop, "form": form}
    if request.method != "POST" or not form.is_valid():
        return render(request, "workshops/waitlist_join.html", context)
    if not throttle.allow_client(
        request, "waitlist", limit=JOINS_PER_HOUR, window=3600
    ):
        context["error"] = "Too many requests from your connection: try in an hour."
        return render(request, "workshops/waitlist_join.html", context, status=429)
    try:
        services.waitlist_join(
            session_id=session.pk,
            name=form.cleaned_data["name"],
            email=form.cleaned_data["email"],
        )
    except services.WaitlistError as error:
        context["error"] = str(error)
        return render(request, "workshops/waitlist_join.html", context, status=400)
    # The same answer whether or not they were on the list already: the page
    # never tells a visitor who else is waiting.
    context["joined"] = form.cleaned_data["email"]
    return render(request, "workshops/waitlist_join.html", context)


@never_cache
def waitlist_entry(request: HttpRequest, token: str) -> HttpResponse:
    """One person's place on a list, reached through their private link."""
    entry = WaitlistEntry.from_token(token)
    if entry is None:
        raise Http404("No such place on a waiting list.")
    if request.method == "POST":
        if request.POST.get("action") == "leave":
            try:
                services.waitlist_leave(entry_id=entry.pk)
            except services.SessionBusy as error:
                messages.error(request, f"{error} You are still on the list.")
            else:
                messages.success(request, "You have left the waiting list.")
            return redirect("workshops:waitlist_entry", token=token)
        return _take_seat(request, entry)
    entry.refresh_from_db()
    order = entry.order
    held_until = entry.offer_expires_at
    if (
        entry.status == WaitlistStatus.OFFERED
        and order is not None
        and order.status == OrderStatus.PENDING
        and order.hold_expires_at
    ):
        # Taken in the offer's last minutes, the seat is held while Stripe
        # Checkout can still be paid.
        held_until = max(held_until or order.hold_expires_at, order.hold_expires_at)
    return render(
        request,
        "workshops/waitlist_entry.html",
        {
            "entry": entry,
            "session": entry.session,
            "page": entry.session.workshop,
            "on_the_list": entry.status
            in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED),
            "held_until": held_until,
            # Stripe's "back" leads here: the offer is still theirs.
            "back_from_checkout": "back" in request.GET,
        },
    )


def _take_seat(request: HttpRequest, entry: WaitlistEntry) -> HttpResponse:
    try:
        order = services.waitlist_offer_claim(entry_id=entry.pk)
    except services.WaitlistError as error:
        messages.error(request, str(error))
        return redirect("workshops:waitlist_entry", token=entry.token)
    except services.SessionBusy as error:
        messages.error(request, f"{error} The seat is still held for you.")
        return redirect("workshops:waitlist_entry", token=entry.token)
    order_page = reverse("workshops:order", args=[order.token])
    if order.payment_method in (PaymentMethod.FREE,) or order.paid_at:
        return redirect(order_page)
    if order.payment_method == PaymentMethod.DEMO:
        return redirect("workshops:order_demo_pay", token=order.token)
    try:
        url = stripe_checkout_url(order)
    except payments.PaymentsUnavailable:
        logger.exception("Stripe Checkout could not be started for %s", order)
        messages.error(
            request, "Payment is unavailable for a moment: the seat is still held."
        )
        return redirect("workshops:waitlist_entry", token=entry.token)
    except services.SessionBusy as error:
        messages.error(request, f"{error} The seat is still held for you.")
        return redirect("workshops:waitlist_entry", token=entry.token)
    except services.CheckoutError:
        # The offer lapsed while Stripe answered: the page says what it is now.
        return redirect("workshops:waitlist_entry", token=entry.token)
    return redirect(url)
