"""Telling staff about an inquiry, and the sender that it arrived.

The acknowledgement goes to whatever address was typed into the form, so it
carries nothing the visitor wrote: no name, no organisation, no message, only
fixed wording and choices from the form's own lists. Staff get everything,
with a Reply-To of the sender's address.
"""

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.urls import reverse
from wagtail.models import Site

from home.email import send_templated_email
from home.models import SiteSettings

from ..models import Inquiry, InquiryPage

logger = logging.getLogger(__name__)


def site_of(page: InquiryPage | None) -> Site | None:
    site = page.get_site() if page is not None else None
    return site or Site.objects.filter(is_default_site=True).first()


def inquiry_notify(
    *,
    inquiry: Inquiry,
    page: InquiryPage | None,
    template: str,
    admin_url_name: str,
    context: Mapping[str, Any],
) -> None:
    """Mail `<template>_staff` to the site's contact address and
    `<template>_received` to the sender, once the transaction commits."""
    site = site_of(page)
    staff_address = SiteSettings.for_site(site).contact_email if site else ""
    full_context = {
        **context,
        "admin_url": settings.BASE_URL + reverse(admin_url_name, args=[inquiry.pk]),
        "page": page,
    }
    if staff_address:
        send_templated_email(
            template=f"{template}_staff",
            to=[staff_address],
            reply_to=[inquiry.email],
            context=full_context,
            site=site,
        )
    else:
        logger.warning(
            "No contact email in the site settings: %s %s reached nobody on staff.",
            type(inquiry).__name__,
            inquiry.pk,
        )
    send_templated_email(
        template=f"{template}_received",
        to=[inquiry.email],
        context={key: context[key] for key in context if key != "inquiry"},
        site=site,
    )
