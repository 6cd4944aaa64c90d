"""Demo content: the request page under Group training, a contact page, and a
few requests from fictional organisations, so the admin's chart shows something.

Original writing. `load` creates what is missing and changes nothing that exists.
"""

from datetime import timedelta
from typing import TextIO

from django.utils import timezone
from wagtail.models import Page
from wagtail.rich_text import RichText

from home.demo import ensure_child_page
from home.models import HomePage

from .models import (
    ContactPage,
    GroupTrainingRequest,
    GroupTrainingRequestPage,
    RequestStatus,
)
from .months import coming_months, month_key

CALL_TO_ACTION = "Ask for a private workshop"

REQUEST_PAGE = {
    "title": "Ask for a private workshop",
    "slug": "request",
    "search_description": "Tell us when and where your team would like a private "
    "Code of Conduct incident response workshop.",
    "intro": [
        (
            "paragraph",
            RichText(
                "<p>Tell us roughly when, where and how many, and we will "
                "propose dates and times that suit everyone. There is no "
                "commitment until you accept a quote.</p>"
            ),
        ),
    ],
    "thank_you_text": RichText(
        "<p>Thank you. We have emailed you a copy of the months and time zones "
        "you chose, and a facilitator will write within two working days.</p>"
    ),
    "organisation_help_text": "A conference, a company, an open-source project…",
    "message_help_text": "Anything that shapes the workshop: the kind of events "
    "you run, reports you have handled, accessibility needs.",
}

CONTACT_PAGE = {
    "title": "Contact us",
    "slug": "contact",
    "search_description": "Write to Tidewell Training.",
    "intro": [
        (
            "paragraph",
            RichText(
                "<p>Questions about a workshop, an invoice or anything else: "
                "write here and a person will reply within two working days.</p>"
            ),
        ),
    ],
}

# Fictional organisations, months as offsets from this month, and zones.
DEMO_REQUESTS = [
    {
        "organisation": "Lantern Bay Makers Festival",
        "name": "Odalys Ferreira",
        "email": "odalys@lanternbay.example",
        "months": (1, 2),
        "time_zones": ["America/New_York", "America/Chicago"],
        "group_size": 14,
        "message": "Our volunteer safety team turns over every spring; we would "
        "like the new members trained before the festival.",
        "status": RequestStatus.NEW,
    },
    {
        "organisation": "Quillfeather Open Source Collective",
        "name": "Tomasz Wielgosz",
        "email": "tomasz@quillfeather.example",
        "months": (2, 3),
        "time_zones": ["Europe/Berlin", "Europe/London", "America/New_York"],
        "group_size": 9,
        "message": "Maintainers across three continents; moderators of our forum "
        "and chat would join.",
        "status": RequestStatus.CONTACTED,
    },
    {
        "organisation": "Southern Lights DevConf",
        "name": "Priya Anand",
        "email": "priya@southernlights.example",
        "months": (2,),
        "time_zones": ["Australia/Sydney", "Pacific/Auckland"],
        "group_size": 22,
        "message": "",
        "status": RequestStatus.NEW,
    },
    {
        "organisation": "Harrowgate Library Meetups",
        "name": "Ben Okafor",
        "email": "ben@harrowgate.example",
        "months": (3, 4),
        "time_zones": ["Europe/London"],
        "group_size": 6,
        "message": "Six hosts of monthly meetups at branch libraries.",
        "status": RequestStatus.NEW,
    },
    {
        "organisation": "Cobalt Ridge Game Jam",
        "name": "Mei Tanaka",
        "email": "mei@cobaltridge.example",
        "months": (1,),
        "time_zones": ["America/Los_Angeles"],
        "group_size": 11,
        "message": "",
        "status": RequestStatus.SCHEDULED,
    },
]


def load(*, stdout: TextIO) -> None:
    home = HomePage.objects.first()
    if home is None:
        return
    group_training = home.get_children().filter(slug="group-training").first()
    parent = group_training.specific if group_training else home
    request_page = parent.get_children().filter(slug=REQUEST_PAGE["slug"]).first()
    if request_page is None:
        request_page = ensure_child_page(
            parent, GroupTrainingRequestPage, **REQUEST_PAGE
        )
        if group_training is not None:
            link_to_request_page(group_training.specific, request_page)
    ensure_child_page(home, ContactPage, **CONTACT_PAGE)
    created = ensure_demo_requests()
    stdout.write(
        f"Request and contact pages ready; {created} demo group-training "
        "requests added.\n"
    )


def link_to_request_page(page: Page, request_page: Page) -> None:
    """The page's "write to us" button goes to the form instead of a mailto: link."""
    button = {
        "text": CALL_TO_ACTION,
        "page": request_page,
        "url": "",
        "style": "primary",
    }
    blocks = []
    replaced = False
    for block in page.body:
        if block.block_type == "call_to_action" and (
            block.value.get("url") or ""
        ).startswith("mailto:"):
            blocks.append(("call_to_action", button))
            replaced = True
        else:
            blocks.append((block.block_type, block.value))
    if not replaced:
        blocks.append(("call_to_action", button))
    page.body = blocks
    page.save()


def ensure_demo_requests() -> int:
    if GroupTrainingRequest.objects.exists():
        return 0
    now = timezone.now()
    months = [month_key(month) for month in coming_months(today=now.date())]
    for days_ago, spec in enumerate(DEMO_REQUESTS, start=1):
        GroupTrainingRequest.objects.create(
            **{**spec, "months": [months[offset] for offset in spec["months"]]},
            created_at=now - timedelta(days=days_ago * 3),
        )
    return len(DEMO_REQUESTS)
