"""Each provider's defaults, and the settings that override them."""

import pytest

from newsletter import checks
from newsletter.models import SendMode
from newsletter.sending import providers


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
    assert [error.id for error in checks.check_send_mode(None)] == ["newsletter.E001"]


def test_mandrill_goes_one_message_each(settings):
    # Anymail's Mandrill backend has no merge_headers: a batch could not give
    # each person their own List-Unsubscribe.
    backend = "anymail.backends.mandrill.EmailBackend"
    settings.EMAIL_BACKEND = backend

    assert not providers.supports_merge_headers(backend)
    assert providers.supports_merge_headers("anymail.backends.mailgun.EmailBackend")
    assert providers.profile_for(backend).mode == SendMode.SINGLE
    assert checks.check_send_mode(None) == []

    settings.NEWSLETTER_SEND_MODE = "batch"
    assert providers.profile_for(backend).mode == SendMode.SINGLE
    assert [error.id for error in checks.check_send_mode(None)] == ["newsletter.E002"]


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("%recipient.{}%", True),
        ("{{{{{}}}}}", True),
        ("-{}-", True),
        ("%recipient.name%", False),  # the same for every field
        ("{0", False),
        ("", False),
    ],
)
def test_a_merge_field_format_needs_a_place_for_the_name(settings, value, valid):
    settings.EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
    settings.NEWSLETTER_MERGE_FIELD_FORMAT = value

    assert providers.is_merge_format(value) is valid
    errors = [error.id for error in checks.check_send_mode(None)]
    assert errors == ([] if valid or not value else ["newsletter.E003"])


def test_an_unknown_batch_provider_needs_its_merge_syntax(settings):
    settings.EMAIL_BACKEND = "anymail.backends.resend.EmailBackend"
    settings.NEWSLETTER_SEND_MODE = "batch"

    assert [error.id for error in checks.check_send_mode(None)] == ["newsletter.E003"]
    assert providers.profile_for().mode == SendMode.SINGLE


def test_the_claim_lease_outlasts_a_task(settings):
    settings.NEWSLETTER_TASK_SECONDS = 120
    settings.EMAIL_TIMEOUT = 30
    settings.NEWSLETTER_CLAIM_LEASE = 300
    assert checks.check_claim_lease(None) == []

    settings.NEWSLETTER_CLAIM_LEASE = 150
    assert [error.id for error in checks.check_claim_lease(None)] == ["newsletter.E004"]
