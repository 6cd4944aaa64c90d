"""The invoice request page's answer: the form, its mistakes, its thank-you.

Thin: throttle the client, validate, call the service, answer. A sent form
redirects to the page with `?sent`, so reloading the thank-you sends nothing twice.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from home import throttle

from .. import services
from ..forms import InvoiceRequestForm
from ..models import InvoiceRequestPage

TOO_MANY = (
    "Too many requests from your connection in the last hour, so this one was "
    "not sent. Please try again later, or write to us."
)


def serve_invoice_request_page(
    request: HttpRequest, *, page: InvoiceRequestPage
) -> HttpResponse:
    form = InvoiceRequestForm(
        request.POST if request.method == "POST" else None, auto_id="invoice-%s"
    )
    context = {**page.get_context(request), "form": form, "sent": False}
    status = 200
    if request.method == "POST":
        if not throttle.allow_client(
            request,
            "invoice-request",
            limit=settings.INQUIRIES_RATE_LIMIT,
            window=settings.INQUIRIES_RATE_WINDOW,
        ):
            context["form_problem"] = TOO_MANY
            status = 429
        elif form.is_valid():
            data = form.cleaned_data
            services.invoice_request_create(
                organisation=data["organisation"],
                contact_name=data["contact_name"],
                email=data["email"],
                seats=data["seats"],
                payment_method=data["payment_method"],
                po_number=data["po_number"],
                w9_wanted=data["w9_wanted"],
                notes=data["notes"],
                page=page,
            )
            return redirect(f"{page.get_url(request)}?sent")
        else:
            status = 400
    elif "sent" in request.GET:
        context["sent"] = True
    return TemplateResponse(request, page.get_template(request), context, status=status)
