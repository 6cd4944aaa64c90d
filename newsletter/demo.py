"""Demo content for the newsletter: two lists, the sign-up page, the consent text.

Original writing for the fictional Tidewell Training. Running it twice changes
nothing: what exists is left as it is.
"""

from typing import TextIO

from wagtail.models import Site
from wagtail.rich_text import RichText

from home.models import HomePage

from .models import (
    DEFAULT_CONSENT_TEXT,
    MailingList,
    NewsletterSettings,
    NewsletterSignupPage,
)

LISTS = [
    {
        "name": "Diversity Deep Dives",
        "description": "Our free newsletter: one practical essay a month on "
        "inclusive events and fair incident response.",
        "is_public": True,
        "double_opt_in": True,
    },
    {
        "name": "Workshop dates",
        "description": "A short note when new workshop dates are published, a "
        "few times a year.",
        "is_public": True,
        "double_opt_in": True,
    },
]

CONSENT_TEXT = (
    "By subscribing you agree that Tidewell Training may email you the lists "
    "you chose. We record when and how you agreed, and never share your "
    "address. Every email has a link to change your choices or unsubscribe in "
    "one click; our privacy page explains the rest."
)


def load(*, stdout: TextIO) -> None:
    for spec in LISTS:
        MailingList.objects.get_or_create(name=spec["name"], defaults=spec)
    home = HomePage.objects.first()
    if home is not None:
        ensure_signup_page(home)
        site = Site.objects.filter(root_page=home).first()
        if site is not None:
            ensure_consent_text(site)
    stdout.write(f"{len(LISTS)} mailing lists and the sign-up page ready.\n")


def ensure_signup_page(home: HomePage) -> NewsletterSignupPage:
    existing = NewsletterSignupPage.objects.first()
    if existing is not None:
        return existing
    return home.add_child(
        instance=NewsletterSignupPage(
            title="Subscribe to Diversity Deep Dives",
            slug="subscribe",
            search_description="A free monthly newsletter on inclusive events "
            "and Code of Conduct incident response, from Tidewell Training.",
            introduction="Once a month, one practical essay on running "
            "inclusive events and responding to Code of Conduct reports with "
            "care. Free, and easy to leave.",
            form_heading="Choose your emails",
            body=RichText(
                "<p>Recent essays covered writing a response template your "
                "volunteers will actually use, what to say to the person who "
                "was reported, and how to rest after a hard week on duty.</p>"
                "<p>We confirm every sign-up by email, so nobody can subscribe "
                "you without your say.</p>"
            ),
            thank_you_text=RichText(
                "<p>Open the email from Tidewell Training and press the "
                "button on the page it links to. The link works for a week; if "
                "nothing arrives in a few minutes, look in your spam folder.</p>"
            ),
        )
    )


def ensure_consent_text(site: Site) -> None:
    settings = NewsletterSettings.for_site(site)
    # Only the built-in wording is replaced; an editor's own stays.
    if settings.consent_text == DEFAULT_CONSENT_TEXT:
        settings.consent_text = CONSENT_TEXT
        settings.save()
