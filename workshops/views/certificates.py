"""The public check of a certificate: type a code, see whom it names, or why not."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from home import throttle
from home.forms import PublicForm

from ..formatting import day_label
from ..models import Certificate, CertificateStatus, normalise_code

# Lookups one client may make in an hour: plenty for an employer checking a
# few certificates, too few to walk the codes (which are ~99 bits anyway).
LOOKUP_LIMIT = 30
LOOKUP_WINDOW = 60 * 60


class CertificateCodeForm(PublicForm):
    code = forms.CharField(
        label="Certificate code",
        max_length=40,
        help_text="Printed on the certificate, e.g. ABCD-EFGH-JKMN-PQRS-TUVW. "
        "Capitals, spaces and dashes do not matter.",
    )

    def clean_code(self):
        code = normalise_code(self.cleaned_data["code"])
        if code is None:
            raise forms.ValidationError(
                "That is not a certificate code: a code is 20 letters and digits "
                "in five groups of four, as printed on the certificate."
            )
        return code


@require_GET
def certificate_lookup(request: HttpRequest) -> HttpResponse:
    """The form at /certificates/; a valid code goes on to its own page."""
    form = CertificateCodeForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return redirect("workshops:certificate", code=form.cleaned_data["code"])
    return render(
        request,
        "workshops/certificate_lookup.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


@require_GET
def certificate_verify(request: HttpRequest, code: str) -> HttpResponse:
    """Valid: the name, workshop and date. Unknown or revoked: that, and nothing."""
    if not throttle.allow_client(
        request, "certificate-lookup", limit=LOOKUP_LIMIT, window=LOOKUP_WINDOW
    ):
        return render(
            request, "workshops/certificate_verify.html", {"state": "busy"}, status=429
        )
    normalised = normalise_code(code)
    if normalised and normalised != code:
        return redirect("workshops:certificate", code=normalised)
    certificate = (
        Certificate.objects.filter(code=normalised)
        .exclude(status=CertificateStatus.REQUESTED)
        .first()
        if normalised
        else None
    )
    if certificate is None:
        state, status = "unknown", 404
    elif certificate.status == CertificateStatus.REVOKED:
        state, status = "revoked", 410
    else:
        state, status = "valid", 200
    context = {"state": state, "code": normalised or code[:40]}
    if state == "valid":
        context.update(
            attendee_name=certificate.attendee_name,
            workshop_title=certificate.workshop_title,
            date_label=day_label(certificate.session_date),
            hours=certificate.hours,
        )
    return render(request, "workshops/certificate_verify.html", context, status=status)
