"""Settings shared by every environment, read from the environment.

Safe by default: DEBUG is off and there is no secret key. `dev.py` supplies local
defaults, `production.py` refuses to start without the variables it needs, and
`.env.example` lists them all.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value if value else default


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item]


def env_int(name: str, default: int) -> int:
    value = env(name)
    try:
        return default if value is None else int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number.") from None


def env_float(name: str, default: float | None) -> float | None:
    value = env(name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number.") from None


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
BASE_URL = (env("BASE_URL", "http://localhost:8000") or "").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "inquiries",
    "newsletter",
    "workshops",
    "testimonials",
    "home",
    "wagtail.contrib.settings",
    "wagtail.contrib.sitemaps",
    "wagtail.contrib.redirects",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "django_tasks",
    "django_tasks_db",
    "django_tasks_rq",
    "django_rq",
    "anymail",
    "csp",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sitemaps",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before everything that renders: a cached page skips the rest of the stack
    # (config/middleware.py; docs/deploy.md, "The page cache").
    "config.middleware.PageCacheMiddleware",
    "config.middleware.PublicCSPMiddleware",
    # After WhiteNoise, whose static files are compressed ahead of time; see
    # config/middleware.py for what is compressed and why (BREACH).
    "config.middleware.PublicGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "config.middleware.PageRouteCacheMiddleware",
    "config.middleware.SiteNotFoundMiddleware",
]
# With DEBUG on, a missing page shows the site's own 404 unless this is set.
DEBUG_TECHNICAL_404 = env_bool("DEBUG_TECHNICAL_404", False)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

if not env("DATABASE_URL"):
    VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the task worker writes; IMMEDIATE makes
    # a write transaction take SQLite's write lock at BEGIN, so two writers queue
    # instead of failing half-way with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

# Wagtail caches site root paths and renditions; with several web processes the
# cache must be shared, so production points CACHE_URL at Redis.
CACHE_URL = env("CACHE_URL", "locmem://")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedRedisCache",
            "LOCATION": CACHE_URL,
        }
    }
elif CACHE_URL == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured("CACHE_URL must be locmem:// or a redis:// URL.")
SHARED_CACHE = CACHE_URL != "locmem://"

# Sessions are for staff in the admin (and a visitor's flash messages, kept in
# a cookie): few, and needed on every machine. In the database they survive a
# Redis restart; with a shared cache, cached_db reads them from Redis and still
# writes them through to the database.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if SHARED_CACHE
    else "django.contrib.sessions.backends.db"
)

# The page cache for anonymous visitors and the fragments every page shares
# (home/page_cache.py): how long an entry lives, which is the most a change
# that sends no signal (a lapsed hold freeing seats, a session starting) can
# lag. Each process has its own locmem cache and would not see another's
# invalidations, so it is on by default only with a shared cache (dev.py, a
# single process, turns it on too); 0 turns it off.
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 120 if SHARED_CACHE else 0)
PAGE_CACHE_EXCLUDED_PREFIXES = ("/admin/", "/static/", "/media/", "/csrf/")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env("STATIC_ROOT", str(BASE_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "site" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env("MEDIA_ROOT", str(VAR_DIR / "media"))
SERVE_MEDIA = env_bool("SERVE_MEDIA", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Several web machines need one place for uploads: S3 or anything that speaks
# its API (MinIO, Cloudflare R2, DigitalOcean Spaces) through django-storages.
# Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the
# machine's role, as boto3 finds them. Objects stay private and are linked
# with signed addresses that outlive any cached page (the W-9 is a document),
# unless AWS_QUERYSTRING_AUTH=false for a public bucket behind a CDN.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL")
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME")
AWS_S3_CUSTOM_DOMAIN = env("AWS_S3_CUSTOM_DOMAIN")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": AWS_S3_ENDPOINT_URL,
            "region_name": AWS_S3_REGION_NAME,
            "custom_domain": AWS_S3_CUSTOM_DOMAIN,
            "location": env("AWS_LOCATION", "media"),
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": env_bool("AWS_QUERYSTRING_AUTH", True),
            "querystring_expire": env_int("AWS_QUERYSTRING_EXPIRE", 3600),
            # Signature version 4: what every AWS region and S3 clone accepts.
            "signature_version": env("AWS_S3_SIGNATURE_VERSION", "s3v4"),
        },
    }
elif AWS_S3_ENDPOINT_URL or AWS_S3_CUSTOM_DOMAIN:
    raise ImproperlyConfigured(
        "AWS_S3_ENDPOINT_URL and AWS_S3_CUSTOM_DOMAIN need AWS_STORAGE_BUCKET_NAME."
    )


def media_origins() -> list[str]:
    """Where uploaded images are loaded from, for the security policy."""
    if AWS_STORAGE_BUCKET_NAME:
        if AWS_S3_CUSTOM_DOMAIN:
            return [f"https://{AWS_S3_CUSTOM_DOMAIN}"]
        if AWS_S3_ENDPOINT_URL:
            return [AWS_S3_ENDPOINT_URL.rstrip("/")]
        region = f".{AWS_S3_REGION_NAME}" if AWS_S3_REGION_NAME else ""
        return [f"https://{AWS_STORAGE_BUCKET_NAME}.s3{region}.amazonaws.com"]
    return [MEDIA_URL] if MEDIA_URL.startswith(("https://", "http://")) else []


# Content-Security-Policy (django-csp) for the public site: its own scripts,
# styles and fonts only; an inline script needs nonce="{{ request.csp_nonce }}".
# The booking form's answer redirects to Stripe Checkout, and browsers hold a
# form's redirects to form-action. The Wagtail admin (and page previews, which
# it serves) keeps its own inline scripts and styles, so it is left out.
STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"
MEDIA_ORIGINS = media_origins()
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *MEDIA_ORIGINS],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF, STRIPE_CHECKOUT_ORIGIN],
    },
}

# Email: one helper (home.email.send_templated_email) sends everything through
# Django's email API, so any anymail provider works. Provider settings come from
# ANYMAIL_* variables: ANYMAIL_MAILGUN_API_KEY=... becomes ANYMAIL["MAILGUN_API_KEY"].
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Workshops <hello@localhost>")
SERVER_EMAIL = env("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_") and value
}

# Stripe: all calls go through workshops/payments.py. STRIPE_API_BASE points the
# official client at another host (a local stand-in in tests).
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env("STRIPE_API_BASE", "https://api.stripe.com")

# Background work goes through django_tasks. "database" needs nothing but the
# database (worker: manage.py db_worker); "rq" queues on Redis for several
# machines (worker: manage.py rqworker --job-class django_tasks_rq.Job).
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
TASKS_BACKEND = env("TASKS_BACKEND", "database")
TASK_BACKENDS = {
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]},
    "immediate": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
}
if TASKS_BACKEND not in TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"TASKS_BACKEND must be one of {', '.join(TASK_BACKENDS)}, "
        f"not {TASKS_BACKEND!r}."
    )
TASKS = {"default": TASK_BACKENDS[TASKS_BACKEND]}
RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}
RQ_SHOW_ADMIN_LINK = False

WAGTAIL_SITE_NAME = env("WAGTAIL_SITE_NAME", "Workshops")
# No editor's email address (hashed) goes to Gravatar on every admin page.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
WAGTAILADMIN_BASE_URL = BASE_URL
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "pptx", "rtf", "txt", "xlsx"]
WAGTAILDOCS_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
WAGTAILEMBEDS_RESPONSIVE_HTML = True
# Complex page forms exceed Django's default of 1,000 fields.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# Order, ticket and newsletter links carry private tokens in their paths:
# runserver's request lines (django.server), django.request's messages and
# anything else on the console have them redacted (config/log_redaction.py;
# config/gunicorn.py does the same for gunicorn's access log).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_tokens": {"()": "config.log_redaction.RedactTokens"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_tokens"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR", "filters": ["redact_tokens"]},
        # Named in full: configuring a logger drops the handlers Django gave it.
        "django.server": {
            "handlers": ["django.server"],
            "level": env("LOG_LEVEL_SERVER", "INFO"),
            "filters": ["redact_tokens"],
            "propagate": False,
        },
    },
}

# Newsletter subscriptions (newsletter app). Confirmation links expire; sign-ups
# are counted per client address in the cache (point CACHE_URL at Redis when
# several web processes serve the site); behind a proxy, TRUSTED_PROXY_COUNT
# says how many X-Forwarded-For entries our own proxies add.
NEWSLETTER_CONFIRMATION_MAX_AGE = env_int(
    "NEWSLETTER_CONFIRMATION_MAX_AGE", 7 * 24 * 60 * 60
)
NEWSLETTER_SIGNUP_RATE_LIMIT = env_int("NEWSLETTER_SIGNUP_RATE_LIMIT", 10)
NEWSLETTER_SIGNUP_RATE_WINDOW = env_int("NEWSLETTER_SIGNUP_RATE_WINDOW", 60 * 60)
NEWSLETTER_EMAILS_PER_ADDRESS = env_int("NEWSLETTER_EMAILS_PER_ADDRESS", 3)
NEWSLETTER_SOFT_BOUNCE_LIMIT = env_int("NEWSLETTER_SOFT_BOUNCE_LIMIT", 3)
# A CSV import: rows one file may hold, and addresses written per transaction.
NEWSLETTER_IMPORT_MAX_ROWS = env_int("NEWSLETTER_IMPORT_MAX_ROWS", 100_000)
NEWSLETTER_IMPORT_CHUNK = env_int("NEWSLETTER_IMPORT_CHUNK", 1_000)

# Sending newsletter issues (newsletter/sending/, docs/sending.md).
# Empty or unset means the provider's default from newsletter/sending/providers.py:
# batch mode for Mailgun, SendGrid, Brevo, SparkPost and Mandrill, one message
# per recipient for Postmark, Amazon SES, SMTP and anything unknown.
NEWSLETTER_SEND_MODE = env("NEWSLETTER_SEND_MODE", "")
if NEWSLETTER_SEND_MODE not in ("", "batch", "single"):
    raise ImproperlyConfigured("NEWSLETTER_SEND_MODE must be batch or single.")
NEWSLETTER_BATCH_SIZE = env_int("NEWSLETTER_BATCH_SIZE", 0)
NEWSLETTER_MERGE_FIELD_FORMAT = env("NEWSLETTER_MERGE_FIELD_FORMAT", "")
NEWSLETTER_MAX_PER_SECOND = env_float("NEWSLETTER_MAX_PER_SECOND", None)
NEWSLETTER_SINGLE_CONCURRENCY = env_int("NEWSLETTER_SINGLE_CONCURRENCY", 8)
NEWSLETTER_PARALLEL_TASKS = env_int("NEWSLETTER_PARALLEL_TASKS", 2)
NEWSLETTER_TASK_SECONDS = env_int("NEWSLETTER_TASK_SECONDS", 120)
NEWSLETTER_CLAIM_LEASE = env_int("NEWSLETTER_CLAIM_LEASE", 300)
NEWSLETTER_ERROR_PAUSE_THRESHOLD = env_int("NEWSLETTER_ERROR_PAUSE_THRESHOLD", 10)
NEWSLETTER_COMPLAINT_PAUSE_RATE = 0.003
NEWSLETTER_COMPLAINT_BASE = env_int("NEWSLETTER_COMPLAINT_BASE", 1000)

# Proxies in front of the site that append to X-Forwarded-For (1 behind Heroku's
# router or one load balancer): how far to trust that header for the client's
# address, which rate limits and consent records use (home/throttle.py).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Checkouts and ticket hand-overs per client address per hour: enough for a
# team booking, too few to hold every seat or mail strangers in bulk.
CHECKOUT_RATE_LIMIT = env_int("CHECKOUT_RATE_LIMIT", 20)
# Unpaid seats one client address may hold in one session at once (a team's
# booking fits; a script cannot hold a session), and the largest share of the
# seats left that one unpaid booking may hold (never fewer than two).
CHECKOUT_UNPAID_SEATS_PER_CLIENT = env_int("CHECKOUT_UNPAID_SEATS_PER_CLIENT", 10)
CHECKOUT_UNPAID_SHARE_OF_SEATS_LEFT = env_float(
    "CHECKOUT_UNPAID_SHARE_OF_SEATS_LEFT", 0.5
)
# Group-training requests and contact messages per client address per window.
INQUIRIES_RATE_LIMIT = env_int("INQUIRIES_RATE_LIMIT", 5)
INQUIRIES_RATE_WINDOW = env_int("INQUIRIES_RATE_WINDOW", 3600)
# PostgreSQL: each wait for a session's lock, and waits before a buyer is told
# to try again (docs/conventions.md, "Tickets and payments").
SEAT_LOCK_TIMEOUT_MS = env_int("SEAT_LOCK_TIMEOUT_MS", 3000)
SEAT_LOCK_ATTEMPTS = env_int("SEAT_LOCK_ATTEMPTS", 4)
