"""A seat code's buyer's private page: seats used and left, who redeemed, and a
form to send the code to a colleague."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from home import throttle

from .. import services
from ..forms import CodeShareForm
from ..models import SeatCode


@never_cache
def seat_code_detail(request: HttpRequest, token: str) -> HttpResponse:
    seat_code = SeatCode.from_token(token)
    if seat_code is None:
        raise Http404("No such code")
    form = CodeShareForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if not throttle.allow_client(
            request, "code-share", limit=settings.CHECKOUT_RATE_LIMIT, window=60 * 60
        ):
            messages.error(request, "Too many emails in the last hour; try later.")
            return redirect("workshops:seat_code", token=token)
        if form.is_valid():
            try:
                services.seat_code_share(
                    seat_code=seat_code,
                    email=form.cleaned_data["email"],
                    name=form.cleaned_data["name"],
                )
            except services.CodeError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request, f"The code is on its way to {form.cleaned_data['email']}."
                )
            return redirect("workshops:seat_code", token=token)
        status = 400
    today = timezone.localdate()
    redemptions = services.seat_code_redemptions(seat_code)
    return render(
        request,
        "workshops/seat_code.html",
        {
            "seat_code": seat_code,
            "code": seat_code.code,
            "redemptions": redemptions,
            "seats_used": len(redemptions),
            "seats_left": max(seat_code.seats - len(redemptions), 0),
            "status": seat_code.get_status_display(today=today),
            "usable": seat_code.voided_at is None and today <= seat_code.valid_until,
            "form": form,
            "schedule_url": services.codes.schedule_url(),
        },
        status=status,
    )
