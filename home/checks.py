"""System checks for what every part of the site relies on."""

from django.conf import settings
from django.core.checks import Error, Warning, register


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


@register()
def proxy_count_is_set(app_configs, **kwargs):
    """Behind a proxy, REMOTE_ADDR is the proxy's: every visitor would share it."""
    if settings.DEBUG or settings.TRUSTED_PROXY_COUNT > 0:
        return []
    return [
        Warning(
            "TRUSTED_PROXY_COUNT is 0 with DEBUG off.",
            hint="Set it to the number of proxies in front of the site that "
            "append to X-Forwarded-For: 1 on Heroku and most PaaS hosts, or behind "
            "one load balancer. Left at 0 behind a proxy, every visitor shares the "
            "proxy's address, so rate limits (sign-up, checkout) soon turn everyone "
            "away and consent records all name the proxy. If clients reach the "
            "site directly, silence this with SILENCED_SYSTEM_CHECKS.",
            id="home.W001",
        )
    ]


@register()
def page_cache_is_shared(app_configs, **kwargs):
    """A per-process cache never hears of another process's invalidations."""
    if settings.DEBUG or settings.PAGE_CACHE_SECONDS <= 0 or settings.SHARED_CACHE:
        return []
    return [
        Warning(
            "PAGE_CACHE_SECONDS is on with the in-memory cache (CACHE_URL=locmem://).",
            hint="Each web process would keep its own copy of every page and go on "
            "serving it for PAGE_CACHE_SECONDS after another process published a "
            "change or sold the last seat. Point CACHE_URL at Redis, or set "
            "PAGE_CACHE_SECONDS=0.",
            id="home.W002",
        )
    ]
