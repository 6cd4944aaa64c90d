"""Public views: sign up, confirm, preferences and one-click unsubscribe.

They stay thin: read the request, call a service, answer. The personal pages are
never cached and never indexed, since their URLs carry a subscriber's key.
"""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from home import throttle

from . import links, services
from .forms import PreferencesForm, SignupForm
from .models import (
    ConsentText,
    MailingList,
    NewsletterSettings,
    SubscriptionStatus,
)
from .selectors import preference_choices, signup_page


def consent_text_for_request(request: HttpRequest) -> str:
    return NewsletterSettings.for_request(request).consent_text


def origin_of(request: HttpRequest, source: str) -> services.Origin:
    return services.Origin(
        source=source,
        ip_address=throttle.client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """The target of every sign-up form; the answer never says who is subscribed."""
    page = signup_page()
    if request.method == "GET":
        if page is not None:
            return redirect(page.url)
        return render(request, "newsletter/subscribe.html", {"signup_page": None})
    allowed = throttle.allow_client(
        request,
        "signup",
        limit=settings.NEWSLETTER_SIGNUP_RATE_LIMIT,
        window=settings.NEWSLETTER_SIGNUP_RATE_WINDOW,
    )
    if not allowed:
        return render(request, "newsletter/rate_limited.html", status=429)
    consent_text = consent_text_for_request(request)
    form = SignupForm(
        request.POST,
        consent_digest=ConsentText.digest_of(consent_text),
        auto_id="nl-main-%s",
    )
    if not form.is_valid():
        return render(
            request,
            "newsletter/subscribe.html",
            {"form": form, "signup_page": page},
            status=400,
        )
    services.subscriber_subscribe(
        email=form.cleaned_data["email"],
        name=form.cleaned_data["name"],
        mailing_lists=list(form.cleaned_data["lists"]),
        consent_text=consent_text,
        origin=origin_of(request, form.cleaned_data["source"]),
        availability=form.availability if form.asks_availability else None,
    )
    return redirect("newsletter:subscribe_done")


def subscribe_done(request: HttpRequest) -> HttpResponse:
    return render(
        request, "newsletter/subscribe_done.html", {"signup_page": signup_page()}
    )


def _bad_link(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "newsletter/link_invalid.html",
        {"signup_page": signup_page()},
        status=400,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for a button press; only the POST confirms, so scanners cannot."""
    try:
        link = links.read_confirm_token(token)
    except links.BadLink:
        return _bad_link(request)
    subscriber = link.subscriber()
    if subscriber is None:
        return _bad_link(request)
    list_ids = link.list_ids or ()
    if request.method == "POST":
        confirmed = services.subscriber_confirm(
            subscriber_id=subscriber.pk,
            list_ids=list_ids,
            origin=origin_of(request, "confirm-link"),
        )
        return render(
            request,
            "newsletter/confirmed.html",
            {
                "confirmed": confirmed,
                "preferences_url": links.preferences_url(subscriber, absolute=False),
            },
        )
    subscriptions = subscriber.subscriptions.filter(
        mailing_list_id__in=list_ids
    ).select_related("mailing_list")
    return render(
        request,
        "newsletter/confirm.html",
        {
            "pending": [
                subscription.mailing_list
                for subscription in subscriptions
                if subscription.status == SubscriptionStatus.PENDING
            ],
            "preferences_url": links.preferences_url(subscriber, absolute=False),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the lists; POST changes them, or unsubscribes from all."""
    try:
        link = links.read_preferences_token(token)
    except links.BadLink:
        return _bad_link(request)
    subscriber = link.subscriber()
    if subscriber is None:
        return _bad_link(request)
    if request.method == "POST" and request.POST.get("action") == "sign_out_links":
        services.subscriber_sign_out_links(
            subscriber_id=subscriber.pk, origin=origin_of(request, "preferences")
        )
        return render(request, "newsletter/links_revoked.html")
    choices = preference_choices(subscriber=subscriber)
    offered_ids = [choice.mailing_list.pk for choice in choices]
    consent_text = consent_text_for_request(request)
    if request.method == "POST" and request.POST.get("action") == "unsubscribe_all":
        services.subscriber_unsubscribe(
            subscriber_id=subscriber.pk,
            list_ids=None,
            origin=origin_of(request, "preferences"),
        )
        messages.success(request, "You are unsubscribed from every list.")
        return redirect(request.path)
    # A pending list starts unticked: anyone may have asked for it, and saving
    # this page must not confirm what the owner never chose, nor cancel a
    # request they did make and have yet to confirm from the email.
    form = PreferencesForm(
        request.POST if request.method == "POST" else None,
        offered_ids=offered_ids,
        pending_ids=frozenset(
            choice.mailing_list.pk for choice in choices if choice.is_pending
        ),
        initial={
            "name": subscriber.name,
            "lists": [choice.mailing_list.pk for choice in choices if choice.is_on],
            "time_zone": subscriber.time_zone,
            "attend_from": subscriber.attend_from,
            "attend_until": subscriber.attend_until,
        },
        auto_id="nl-prefs-%s",
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            services.subscriber_update_preferences(
                subscriber_id=subscriber.pk,
                name=form.cleaned_data["name"],
                list_ids=[ml.pk for ml in form.cleaned_data["lists"]],
                offered_list_ids=offered_ids,
                consent_text=consent_text,
                origin=origin_of(request, "preferences"),
                availability=form.availability if form.asks_availability else None,
            )
            messages.success(request, "Your choices are saved.")
            return redirect(request.path)
        status = 400
    return render(
        request,
        "newsletter/preferences.html",
        {
            "form": form,
            "subscriber": subscriber,
            "choices": choices,
            "has_pending": any(choice.is_pending for choice in choices),
            "consent_text": consent_text,
        },
        status=status,
    )


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The List-Unsubscribe URL (RFC 8058): a POST unsubscribes at once, no login.

    No CSRF token: mail clients post `List-Unsubscribe=One-Click` from outside
    the site, and the signed token is what proves the request may do this.
    """
    try:
        link = links.read_unsubscribe_token(token)
    except links.BadLink:
        return _bad_link(request)
    # An unsubscribe link keeps working after the person signs out of their
    # links (RFC 8058 and CAN-SPAM expect an opt-out to work for as long as the
    # mail it came in may be read): it can only stop mail. The page then
    # offers no link to their preferences, which a stranger could open.
    subscriber = link.subscriber_any_key()
    current = subscriber is not None and link.is_current(subscriber)
    preferences_url = (
        links.preferences_url(subscriber, absolute=False) if current else None
    )
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        if subscriber is not None:
            services.subscriber_unsubscribe(
                subscriber_id=subscriber.pk,
                list_ids=link.list_ids,
                origin=origin_of(request, "one-click" if one_click else "unsubscribe"),
            )
            if link.delivery_id is not None:
                services.delivery_note_unsubscribe(
                    delivery_id=link.delivery_id, subscriber_id=subscriber.pk
                )
        # An erased subscriber is already beyond our mail: that is success too.
        return render(
            request,
            "newsletter/unsubscribed.html",
            {"preferences_url": preferences_url, "erased": subscriber is None},
        )
    if subscriber is None:
        return _bad_link(request)
    lists = (
        MailingList.objects.filter(pk__in=link.list_ids)
        if link.list_ids is not None
        else None
    )
    return render(
        request,
        "newsletter/unsubscribe.html",
        {
            "lists": lists,
            "action_url": reverse("newsletter:unsubscribe", args=[token]),
            "preferences_url": preferences_url,
        },
    )
