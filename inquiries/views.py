"""The inquiry pages' answers: the form, its mistakes, its thank-you.

Thin, as every public view: throttle the client, validate, call the form's
service, answer. A sent form redirects to the page with `?sent`, so reloading
the thank-you sends nothing twice.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from home import throttle

from .forms import ContactForm, GroupTrainingRequestForm, InquiryForm
from .models import ContactPage, GroupTrainingRequestPage, InquiryPage

FORMS: dict[type[InquiryPage], type[InquiryForm]] = {
    GroupTrainingRequestPage: GroupTrainingRequestForm,
    ContactPage: ContactForm,
}
# Per client address: enough for a colleague or two behind one office's
# address, too few to fill the staff's inbox.
TOO_MANY = (
    "Too many messages from your connection in the last hour, so this one was "
    "not sent. Please try again later."
)


def allow_inquiry(request: HttpRequest) -> bool:
    return throttle.allow_client(
        request,
        "inquiry",
        limit=settings.INQUIRIES_RATE_LIMIT,
        window=settings.INQUIRIES_RATE_WINDOW,
    )


def serve_inquiry_page(request: HttpRequest, *, page: InquiryPage) -> HttpResponse:
    form_class = FORMS[type(page)]
    data = request.POST if request.method == "POST" else None
    form = form_class(data, help_texts=page.help_texts(), auto_id="inquiry-%s")
    context = {**page.get_context(request), "form": form, "sent": False}
    status = 200
    if request.method == "POST":
        if not allow_inquiry(request):
            context["form_problem"] = TOO_MANY
            status = 429
        elif form.is_valid():
            form.submit(page=page)
            return redirect(f"{page.get_url(request)}?sent")
        else:
            status = 400
    elif "sent" in request.GET:
        context["sent"] = True
    return TemplateResponse(request, page.get_template(request), context, status=status)
