"""gunicorn's settings for the web process: `gunicorn -c config/gunicorn.py`."""

import os

wsgi_app = "config.wsgi:application"
bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = "-"
# Order, ticket and newsletter links carry private tokens in their paths.
logger_class = "config.log_redaction.RedactingLogger"
