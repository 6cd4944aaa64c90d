"""Tests: in-memory mail, fast hashing, SQLite unless DATABASE_URL says otherwise."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env_list

SECRET_KEY = "test-secret-key"  # noqa: S105
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
BASE_URL = "http://testserver"
WAGTAILADMIN_BASE_URL = BASE_URL
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = str(VAR_DIR / "test-media")
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
SERVE_MEDIA = True
# The machine has no network: the admin would ask wagtail.org for a new release.
WAGTAIL_ENABLE_UPDATE_CHECK = False
# Templates that exist only to exercise shared machinery, such as the email helper.
TEMPLATES[0]["DIRS"].append(BASE_DIR / "tests" / "templates")
# Tests reach Stripe only through the stand-in (tests/workshops/stripe_standin.py),
# whose fixture points STRIPE_API_BASE at it; anything else is refused at once.
STRIPE_SECRET_KEY = "sk_test_standin"  # noqa: S105
STRIPE_WEBHOOK_SECRET = "whsec_test_standin"  # noqa: S105
STRIPE_API_BASE = "http://127.0.0.1:9"
# Provider tracking webhooks are authenticated, as production requires (home.E001).
ANYMAIL = {**ANYMAIL, "WEBHOOK_SECRET": "tracking:test-secret"}
# Tests run inside transactions that never commit, so invalidations would never
# arrive: the page cache is off unless a test turns it on (tests/config).
PAGE_CACHE_SECONDS = 0
