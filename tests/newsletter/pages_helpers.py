"""Reading back what a subscriber sees: sign-up forms, links in emails, statuses."""

import re

HIDDEN_INPUT = re.compile(
    r'<input type="hidden" name="(source|consent_version)" value="([^"]*)"'
)


def signup_form_fields(html: str) -> dict[str, str]:
    """The hidden fields of the first sign-up form on a page, as a browser sends."""
    fields: dict[str, str] = {}
    for name, value in HIDDEN_INPUT.findall(html):
        fields.setdefault(name, value)
    return fields


def links_in(text: str) -> list[str]:
    return re.findall(r"https?://\S+", text)


def statuses(subscriber) -> dict[str, str]:
    """Each of the subscriber's lists by name, with the status there."""
    return dict(subscriber.subscriptions.values_list("mailing_list__name", "status"))
