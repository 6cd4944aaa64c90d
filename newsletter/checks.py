"""System checks: the settings the newsletter's abuse limits depend on."""

from django.conf import settings
from django.core.checks import Warning, register


@register()
def proxy_count_is_set(app_configs, **kwargs):
    """Behind a proxy, REMOTE_ADDR is the proxy's: every visitor would share it."""
    if settings.DEBUG or settings.NEWSLETTER_PROXY_COUNT > 0:
        return []
    return [
        Warning(
            "NEWSLETTER_PROXY_COUNT is 0 with DEBUG off.",
            hint="Set it to the number of proxies in front of the site that "
            "append to X-Forwarded-For: 1 on Heroku and most PaaS hosts, or behind "
            "one load balancer. Left at 0 behind a proxy, every visitor shares the "
            "proxy's address, so the sign-up rate limit soon turns everyone away "
            "and consent records all name the proxy. If clients reach the site "
            "directly, silence this with SILENCED_SYSTEM_CHECKS.",
            id="newsletter.W001",
        )
    ]
