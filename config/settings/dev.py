"""Local development: DEBUG on, mail to the console, a throwaway secret key."""

from .base import *  # noqa: F403
from .base import env, env_bool, env_int, env_list

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env("SECRET_KEY", "dev-only-secret-key-never-use-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# Media are served by runserver in development (see config/urls.py).
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# runserver is one process, so its in-memory cache sees every invalidation.
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 120)
