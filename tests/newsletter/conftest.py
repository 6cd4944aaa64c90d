import re

import pytest

from tests.newsletter.factories import MailingListFactory


@pytest.fixture
def lists(db):
    """Two public lists with double opt-in, as in the demo content."""
    return [
        MailingListFactory(name="Diversity Deep Dives"),
        MailingListFactory(name="Workshop dates"),
    ]


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Runs what waits for the commit when the block ends, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


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
