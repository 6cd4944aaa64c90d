"""Checkout: choose tickets, name the attendees, pay, and see the order."""

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from home import throttle

from .. import payments, services
from ..formatting import session_when
from ..forms import AttendeeFormSet, BuyerForm, CodeRedeemForm, TicketChoiceForm
from ..models import (
    Order,
    OrderStatus,
    PaymentMethod,
    SeatCode,
    TicketStatus,
    TicketType,
    WaitlistEntry,
    WorkshopSession,
)
from ..selectors import public_sessions, with_seats_taken

logger = logging.getLogger(__name__)

TEMPLATE = "workshops/book.html"


@dataclass
class Booking:
    """One visit to a session's checkout page, and what its template is given."""

    request: HttpRequest
    session: WorkshopSession
    ticket_types: QuerySet[TicketType]
    context: dict[str, Any]

    other_sessions: list[WorkshopSession]

    @classmethod
    def load(cls, request: HttpRequest, session_pk: int) -> "Booking":
        session = get_object_or_404(with_seats_taken(public_sessions()), pk=session_pk)
        ticket_types = TicketType.objects.on_sale().filter(workshops=session.workshop)
        # The workshop's other open dates: a group may take seats in several.
        others = [
            other
            for other in with_seats_taken(public_sessions())
            .filter(workshop=session.workshop)
            .exclude(pk=session.pk)
            .order_by("starts_at")
            if other.is_bookable
        ]
        context = {
            "session": session,
            "page": session.workshop,
            "ticket_types": ticket_types,
        }
        return cls(request, session, ticket_types, context, others)

    def choice_form(self, data) -> TicketChoiceForm:
        return TicketChoiceForm(
            data,
            ticket_types=self.ticket_types,
            other_sessions=self.other_sessions,
            session_label=session_when,
        )

    def attendee_rows(self, choice: TicketChoiceForm, attendees) -> list:
        """Each attendee form with its legend: which seat, of which date."""
        per_ticket = choice.cleaned_data["ticket_type"].seats_per_ticket
        dates = [(self.session, choice.cleaned_data["quantity"])]
        dates += choice.also_sessions
        legends = []
        for session, tickets in dates:
            seats = tickets * per_ticket
            for number in range(1, seats + 1):
                legend = f"Attendee {number} of {seats}"
                if len(dates) > 1:
                    legend += f", {session_when(session)}"
                legends.append(legend)
        forms = list(attendees.forms)
        return [
            (form, legends[index] if index < len(legends) else "Attendee")
            for index, form in enumerate(forms)
        ]

    def render(self, *, status: int = 200, **context: Any) -> HttpResponse:
        self.context.update(context)
        return render(self.request, TEMPLATE, self.context, status=status)


TOO_MANY_BOOKINGS = (
    "Too many bookings from your connection in the last hour. "
    "Please try again later, or write to us."
)


def allow_checkout(request: HttpRequest) -> bool:
    """Without a limit a script could hold every seat of every session."""
    return throttle.allow_client(
        request, "checkout", limit=settings.CHECKOUT_RATE_LIMIT, window=60 * 60
    )


def book(request: HttpRequest, session_pk: int) -> HttpResponse:
    """Choose tickets (step one), then name every attendee and pay (step two)."""
    booking = Booking.load(request, session_pk)
    if not booking.session.is_bookable or not booking.ticket_types:
        # A POST here lost a race or a sale window: say so, and hold nothing.
        return booking.render(status=400 if request.method == "POST" else 200)
    data = request.POST if request.method == "POST" else request.GET
    choice = booking.choice_form(data if "ticket_type" in data else None)
    booking.context["choice"] = choice
    if not choice.is_bound or not choice.is_valid():
        return booking.render()  # step one
    if choice.cleaned_data["ticket_type"].issues_code:
        return book_code_pack(booking, choice)
    if request.method == "POST":
        return book_submit(booking, choice)
    return book_details(booking, choice)


def book_details(booking: Booking, choice: TicketChoiceForm) -> HttpResponse:
    """Step two, blank: the buyer's details and one attendee per seat."""
    attendees = AttendeeFormSet(prefix="attendee", initial=[{}] * choice.seats)
    return booking.render(
        total=choice.total,
        buyer=BuyerForm(initial={"buyer_time_zone": booking.session.time_zone}),
        attendees=attendees,
        attendee_rows=booking.attendee_rows(choice, attendees),
        code_form=CodeRedeemForm(),
        seats=choice.seats,
    )


def book_code_pack(booking: Booking, choice: TicketChoiceForm) -> HttpResponse:
    """A team pack sold as a seat code: only the buyer's details, then payment."""
    request = booking.request
    if request.method != "POST":
        return booking.render(
            total=choice.total,
            buyer=BuyerForm(initial={"buyer_time_zone": booking.session.time_zone}),
            code_pack=True,
            seats=choice.seats,
        )
    if not allow_checkout(request):
        return booking.render(status=429, checkout_error=TOO_MANY_BOOKINGS)
    buyer = BuyerForm(request.POST)
    booking.context.update(
        total=choice.total, buyer=buyer, code_pack=True, seats=choice.seats
    )
    if not buyer.is_valid():
        return booking.render(status=400)
    try:
        order = services.order_create(
            session_id=booking.session.pk,
            ticket_type_id=choice.cleaned_data["ticket_type"].pk,
            quantity=choice.cleaned_data["quantity"],
            buyer_name=buyer.cleaned_data["buyer_name"],
            buyer_email=buyer.cleaned_data["buyer_email"],
            buyer_time_zone=buyer.cleaned_data["buyer_time_zone"],
            attendees=[],
            client=throttle.client_ip(request),
        )
    except services.CheckoutError as error:
        return booking.render(status=400, checkout_error=str(error))
    return start_payment(request, order)


def book_submit(booking: Booking, choice: TicketChoiceForm) -> HttpResponse:
    """Step two, sent: hold the seats and go to payment, or say what to correct."""
    request = booking.request
    if not allow_checkout(request):
        return booking.render(status=429, checkout_error=TOO_MANY_BOOKINGS)
    seats = choice.seats
    buyer = BuyerForm(request.POST)
    attendees = AttendeeFormSet(request.POST, prefix="attendee")
    code_form = CodeRedeemForm(request.POST)
    booking.context.update(
        total=choice.total,
        buyer=buyer,
        attendees=attendees,
        attendee_rows=booking.attendee_rows(choice, attendees),
        code_form=code_form,
        seats=seats,
    )
    if not (buyer.is_valid() and attendees.is_valid() and code_form.is_valid()):
        return booking.render(status=400)
    if len(attendees.forms) != seats:
        attendees.non_form_errors().append(
            f"Give a name and email address for all {seats} seats."
        )
        return booking.render(status=400)
    people = [
        services.Attendee(form.cleaned_data["name"], form.cleaned_data["email"])
        for form in attendees.forms
    ]
    if code_form.cleaned_data["seat_code"]:
        return book_with_code(booking, choice, buyer, people, code_form)
    try:
        order = services.order_create(
            session_id=booking.session.pk,
            ticket_type_id=choice.cleaned_data["ticket_type"].pk,
            quantity=choice.cleaned_data["quantity"],
            also=choice.also,
            buyer_name=buyer.cleaned_data["buyer_name"],
            buyer_email=buyer.cleaned_data["buyer_email"],
            buyer_time_zone=buyer.cleaned_data["buyer_time_zone"],
            attendees=people,
            client=throttle.client_ip(request),
        )
    except services.CheckoutError as error:
        return booking.render(status=400, checkout_error=str(error))
    return start_payment(request, order)


def book_with_code(
    booking: Booking,
    choice: TicketChoiceForm,
    buyer: BuyerForm,
    people: list[services.Attendee],
    code_form: CodeRedeemForm,
) -> HttpResponse:
    """Seats paid with a seat code: no payment step, straight to the order."""
    request = booking.request
    guesses = services.CodeGuesses(client=throttle.client_ip(request))
    now = timezone.now()
    try:
        guesses.check(now=now)
        order = services.seat_code_redeem(
            code=code_form.cleaned_data["seat_code"],
            session_id=booking.session.pk,
            ticket_type_id=choice.cleaned_data["ticket_type"].pk,
            quantity=choice.cleaned_data["quantity"],
            also=choice.also,
            buyer_name=buyer.cleaned_data["buyer_name"],
            buyer_email=buyer.cleaned_data["buyer_email"],
            buyer_time_zone=buyer.cleaned_data["buyer_time_zone"],
            attendees=people,
            now=now,
        )
    except services.CodeRefused as refused:
        if refused.wrong_guess:
            guesses.record_wrong(now=now)
        code_form.add_error("seat_code", str(refused))
        return booking.render(status=400)
    except services.CheckoutError as error:
        return booking.render(status=400, checkout_error=str(error))
    return redirect("workshops:order", token=order.token)


def stripe_checkout_url(order: Order) -> str:
    """Stripe Checkout for the order, returning to its page or, from "back", to
    'cancelled' (a waiting-list offer: to the offer, which stays open).

    Raises payments.PaymentsUnavailable when Stripe cannot be reached, and
    services.CheckoutError when the order lost its seats meanwhile.
    """
    order_page = reverse("workshops:order", args=[order.token])
    return services.order_start_payment(
        order=order,
        success_url=services.absolute(order_page) + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=services.absolute(back_from_checkout(order)),
    )


def back_from_checkout(order: Order) -> str:
    """Where Stripe's "back" leads: to a waiting-list offer, or to 'cancelled'."""
    offer = WaitlistEntry.objects.for_order(order)
    if offer is not None:
        return reverse("workshops:waitlist_entry", args=[offer.token]) + "?back"
    return reverse("workshops:order_cancelled", args=[order.token])


def start_payment(request: HttpRequest, order: Order) -> HttpResponse:
    try:
        if order.payment_method == PaymentMethod.FREE:
            services.order_fulfil(order_id=order.pk, payment_method=PaymentMethod.FREE)
            return redirect("workshops:order", token=order.token)
        if order.payment_method == PaymentMethod.DEMO:
            return redirect("workshops:order_demo_pay", token=order.token)
        url = stripe_checkout_url(order)
    except (payments.PaymentsUnavailable, services.CheckoutError):
        # Stripe unreachable, or the session too busy to confirm a free seat:
        # nothing is held for a booking the buyer cannot finish now.
        logger.exception("Payment could not be started for %s", order)
        services.order_release(order_id=order.pk, status=OrderStatus.FAILED)
        return render(
            request,
            "workshops/payment_unavailable.html",
            {"order": order, "page": order.session.workshop},
            status=503,
        )
    return redirect(url)


# Order and ticket pages carry a private token in their address: never cached.


def _order_or_404(token: str) -> Order:
    order = Order.from_token(token)
    if order is None:
        raise Http404("No such order")
    return order


@never_cache
def order_detail(request: HttpRequest, token: str) -> HttpResponse:
    """The order's own page: Stripe returns buyers here after paying."""
    order = _order_or_404(token)
    if order.status in {OrderStatus.PENDING, OrderStatus.PROCESSING}:
        try:
            # The webhook may not have arrived yet: ask Stripe ourselves.
            services.order_sync(order=order)
        except payments.PaymentsUnavailable:
            logger.warning("Could not confirm %s with Stripe yet", order)
        except services.SessionBusy:
            pass
        # With what the page shows beside it, as the token lookup fetched it.
        order.refresh_from_db(
            from_queryset=Order.objects.select_related(*Order.link_related)
        )
    tickets = list(
        order.tickets.select_related("session__workshop").order_by(
            "session__starts_at", "session_id", "pk"
        )
    )
    booked = order.booked()
    booked_ids = {session.pk for session, _ in booked}
    return render(
        request,
        "workshops/order.html",
        {
            "order": order,
            "refunded_for_lack_of_seats": order.status == OrderStatus.REFUNDED
            and all(ticket.status == TicketStatus.RELEASED for ticket in tickets),
            "page": order.session.workshop,
            "session": order.session,
            "booked": booked,
            "issued_code": SeatCode.objects.filter(order=order).first(),
            # A ticket whose session is none the order booked was moved there.
            "tickets": [
                (
                    ticket,
                    reverse("workshops:ticket", args=[ticket.token]),
                    ticket.session_id not in booked_ids,
                )
                for ticket in tickets
            ],
        },
    )


@never_cache
def order_cancelled(request: HttpRequest, token: str) -> HttpResponse:
    """Where Stripe sends a buyer who goes back: the seats are given back at once."""
    order = _order_or_404(token)
    offer = WaitlistEntry.objects.for_order(order)
    if offer is not None and order.status == OrderStatus.PENDING:
        # A waiting-list offer (a Checkout Session made before offers returned
        # to their own page): it stays open until its own time ends.
        return redirect(
            reverse("workshops:waitlist_entry", args=[offer.token]) + "?back"
        )
    if request.method != "POST":
        order = services.order_abandon(order=order)
        return render(
            request,
            "workshops/order_cancelled.html",
            {
                "order": order,
                "page": order.session.workshop,
                "released": order.status == OrderStatus.CANCELLED
                and order.paid_at is None,
            },
        )
    if request.POST.get("action") == "resume":
        return order_resume(request, order)
    services.order_abandon(order=order)
    messages.success(request, "Your seats have been released.")
    return redirect("workshops:order", token=token)


def order_resume(request: HttpRequest, order: Order) -> HttpResponse:
    """Back to payment after leaving it: the same seats held again, if still free."""
    if not allow_checkout(request):
        messages.error(request, TOO_MANY_BOOKINGS)
        return redirect("workshops:order_cancelled", token=order.token)
    try:
        new_order, created = services.order_rebook(
            order=order, client=throttle.client_ip(request)
        )
    except services.CheckoutError as error:
        messages.error(request, str(error))
        return redirect("workshops:order_cancelled", token=order.token)
    if not created:
        return redirect("workshops:order", token=new_order.token)
    return start_payment(request, new_order)


@never_cache
def order_demo_pay(request: HttpRequest, token: str) -> HttpResponse:
    """Demo mode's stand-in for Stripe Checkout: local runs without Stripe keys."""
    if not (settings.DEBUG and payments.demo_mode()):
        raise Http404("Demo payments are only available in a local run.")
    order = _order_or_404(token)
    if order.payment_method != PaymentMethod.DEMO:
        raise Http404("This order is paid through Stripe.")
    if request.method == "POST":
        if request.POST.get("action") == "pay":
            services.order_fulfil(order_id=order.pk, payment_method=PaymentMethod.DEMO)
        elif WaitlistEntry.objects.for_order(order) is not None:
            # As Stripe's "back" does: to the offer, which stays open.
            return redirect(back_from_checkout(order))
        else:
            services.order_release(order_id=order.pk, status=OrderStatus.CANCELLED)
        return redirect("workshops:order", token=token)
    return render(
        request,
        "workshops/demo_pay.html",
        {"order": order, "page": order.session.workshop},
    )


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events, as triggers only: the Checkout Session is fetched again."""
    try:
        event = payments.webhook_event(
            request.body, request.headers.get("Stripe-Signature", "")
        )
    except (ValueError, payments.SignatureVerificationError):
        return HttpResponseBadRequest("Invalid signature or payload")
    try:
        services.stripe_event_handle(event=event)
    except services.StripeEventDeferred as deferred:
        # Stripe retries for days; try again then rather than guess now.
        logger.warning("%s", deferred)
        return HttpResponse(status=503)
    return HttpResponse(status=200)
