"""Production: refuses to start without the variables a live site needs."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, env_bool, env_int

# Each variable whose absence would make the site unsafe, and why. They are
# checked here, at import, because gunicorn runs no system checks: the
# matching checks (home.E001, workshops.E001, workshops.E002) stay for
# `manage.py check`, and config/wsgi.py runs the rest at start-up.
REQUIRED = {
    "SECRET_KEY": "signs sessions, tokens and links",
    "ALLOWED_HOSTS": "the host names this site answers to",
    "BASE_URL": "the address written into emails and calendar files",
    "DATABASE_URL": "without it the site would write to a local SQLite file",
    "DEFAULT_FROM_EMAIL": "the sender of every email",
    "STRIPE_SECRET_KEY": "without it checkout runs in demo mode: orders are "
    "completed without payment and hold real seats",
    "STRIPE_WEBHOOK_SECRET": "without it Stripe's webhooks cannot be verified, "
    "so payments that settle later never confirm their orders",
    "ANYMAIL_WEBHOOK_SECRET": "without it anyone may post tracking events, and a "
    "forged complaint unsubscribes and suppresses any address",
}
missing = [name for name in REQUIRED if not env(name)]
if missing:
    raise ImproperlyConfigured(
        "Set these environment variables for production: "
        + ", ".join(missing)
        + "".join(f"\n  {name}: {REQUIRED[name]}" for name in missing)
    )

DEBUG = False
if env_bool("DEBUG", False):
    raise ImproperlyConfigured("DEBUG must be off in production.")

# Behind a proxy that terminates TLS (Heroku, a load balancer), trust its header.
if env_bool("SECURE_PROXY_SSL_HEADER", True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_REFERRER_POLICY = "same-origin"
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
