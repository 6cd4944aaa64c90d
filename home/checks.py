"""System checks for what every part of the site relies on."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def tracking_webhooks_are_authenticated(app_configs, **kwargs):
    """The email provider's event webhooks suppress addresses: only it may call."""
    if settings.DEBUG or settings.ANYMAIL.get("WEBHOOK_SECRET"):
        return []
    return [
        Error(
            "ANYMAIL_WEBHOOK_SECRET is not set.",
            hint="Without it anymail accepts tracking events from anyone, and a "
            "forged complaint would unsubscribe and suppress any address. Set it "
            "to 'user:password' and use the same in the provider's webhook URL.",
            id="home.E001",
        )
    ]
