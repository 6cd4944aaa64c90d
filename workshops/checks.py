"""System checks: demo checkout never runs with DEBUG off."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def stripe_is_configured(app_configs, **kwargs):
    errors = []
    if not settings.STRIPE_SECRET_KEY and not settings.DEBUG:
        errors.append(
            Error(
                "STRIPE_SECRET_KEY is not set and DEBUG is off.",
                hint="Without a key, checkout runs in demo mode and completes "
                "orders without payment; that is only for a local run. Set "
                "STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET.",
                id="workshops.E001",
            )
        )
    if settings.STRIPE_SECRET_KEY and not settings.STRIPE_WEBHOOK_SECRET:
        errors.append(
            Error(
                "STRIPE_WEBHOOK_SECRET is not set.",
                hint="Without it Stripe's webhooks cannot be verified, so payments "
                "that settle later (ACH) would never confirm their orders.",
                id="workshops.E002",
            )
        )
    return errors
