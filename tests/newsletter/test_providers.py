"""Each provider's defaults, and the settings that override them."""

import pytest

from newsletter import providers
from newsletter.models import SendMode


@pytest.mark.parametrize(
    ("backend", "mode", "size", "placeholder"),
    [
        ("anymail.backends.mailgun.EmailBackend", "batch", 1000, "%recipient.x%"),
        ("anymail.backends.sendgrid.EmailBackend", "batch", 1000, "-x-"),
        ("anymail.backends.postmark.EmailBackend", "single", 500, ""),
        ("anymail.backends.amazon_ses.EmailBackend", "single", 50, ""),
        ("django.core.mail.backends.smtp.EmailBackend", "single", 100, ""),
    ],
)
def test_defaults_follow_the_provider(backend, mode, size, placeholder):
    profile = providers.profile_for(backend)
    assert (profile.mode, profile.batch_size) == (mode, size)
    assert profile.merge_placeholder.format("x") == placeholder


def test_settings_override_the_defaults(settings):
    settings.NEWSLETTER_BATCH_SIZE = 250
    settings.NEWSLETTER_MAX_PER_SECOND = 40
    settings.NEWSLETTER_SEND_MODE = "single"
    profile = providers.profile_for("anymail.backends.mailgun.EmailBackend")
    assert (profile.mode, profile.batch_size, profile.max_per_second) == (
        SendMode.SINGLE,
        250,
        40,
    )


def test_batch_mode_is_never_used_without_anymail(settings):
    # SMTP would put a whole batch in one message's To header.
    settings.NEWSLETTER_SEND_MODE = "batch"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

    assert providers.profile_for().mode == SendMode.SINGLE
    assert [error.id for error in providers.check_send_mode(None)] == [
        "newsletter.E001"
    ]
