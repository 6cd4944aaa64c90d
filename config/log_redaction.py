"""Keep the private tokens of order, ticket and newsletter links out of logs.

Those links carry their token in the path (a token is the only key to an order or
a subscription), and the access logs of gunicorn and runserver, the `django.request`
messages and the Referer of the next request all write paths. No Django imports:
gunicorn's arbiter loads this module before the application.
"""

import logging
import re
from collections.abc import Mapping

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
# The routes whose next path segment is a token (newsletter/urls.py and
# workshops/urls.py); tests/config/test_log_redaction.py fails for any route
# with a `token` argument that this misses.
TOKEN_ROUTES = (
    "orders",
    "tickets",
    # A group's seat code: whoever holds the link can redeem its seats.
    "codes",
    # A waiting-list place: its link holds the freed seat for its owner.
    "waiting-list/place",
    "newsletter/confirm",
    "newsletter/preferences",
    "newsletter/unsubscribe",
    # A certificate's verification code shows the holder's name to anyone.
    "certificates",
)
_SEGMENT = r"[^/?#\s\"]+"
_TOKEN_IN_PATH = re.compile(
    rf"(/(?:{'|'.join(re.escape(route) for route in TOKEN_ROUTES)})/){_SEGMENT}"
    # The admin's password reset link: /admin/password_reset/confirm/<uid>/<token>/
    rf"|(/admin/password_reset/confirm/{_SEGMENT}/){_SEGMENT}"
)
# Stripe brings the buyer back to the order page with its Checkout Session's id;
# the certificate form sends the code it was given as ?code=.
_SECRET_IN_QUERY = re.compile(r"(\b(?:session_id|code)=)[^&#\s\"]+")


def redact(text: str) -> str:
    """`text` with every token of a private link replaced by [redacted]."""
    text = _TOKEN_IN_PATH.sub(lambda m: f"{m[1] or m[2]}{REDACTED}", text)
    return _SECRET_IN_QUERY.sub(rf"\g<1>{REDACTED}", text)


def _redact_value(value):
    return redact(value) if isinstance(value, str) else value


class RedactTokens(logging.Filter):
    """Redacts a record's message and arguments in place; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, Mapping):
            # gunicorn's access log passes its atoms as one mapping; keep its
            # class, which answers "-" for a missing atom.
            for key, value in record.args.items():
                record.args[key] = _redact_value(value)
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_value(arg) for arg in record.args)
        return True


class RedactingLogger(Logger):
    """gunicorn's logger with tokens redacted from access and error lines."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.access_log, self.error_log):
            if not any(isinstance(f, RedactTokens) for f in log.filters):
                log.addFilter(RedactTokens())
