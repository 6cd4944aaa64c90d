"""Production: refuses to start without the variables a live site needs."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, env_bool, env_int

REQUIRED = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "BASE_URL",
    "DATABASE_URL",
    "DEFAULT_FROM_EMAIL",
)
missing = [name for name in REQUIRED if not env(name)]
if missing:
    raise ImproperlyConfigured(
        "Set these environment variables for production: " + ", ".join(missing)
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
