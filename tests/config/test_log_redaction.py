"""Private tokens in links never reach a log line."""

import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from gunicorn.config import Config

from config.log_redaction import RedactingLogger, redact
from config.settings.base import BASE_DIR

TOKEN = "Tok3n-that-must-not-leak"


def token_routes(resolver: URLResolver = None, namespace: str = ""):
    """The names of every URL pattern that takes a `token` argument."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or ""
            prefix = f"{namespace}{inner}:" if inner else namespace
            yield from token_routes(pattern, prefix)
        elif isinstance(pattern, URLPattern) and "token" in getattr(
            pattern.pattern, "converters", {}
        ):
            yield f"{namespace}{pattern.name}", list(pattern.pattern.converters)


def test_every_route_with_a_token_is_redacted():
    routes = dict(token_routes())
    assert "workshops:order" in routes
    assert "newsletter:unsubscribe" in routes
    for name, arguments in routes.items():
        kwargs = dict.fromkeys(arguments, "MQ") | {"token": TOKEN}
        path = reverse(name, kwargs=kwargs)
        assert TOKEN not in redact(f"GET {path} HTTP/1.1"), name
        assert TOKEN not in redact(f"https://tidewell.example{path}"), name


def test_a_certificate_code_is_redacted():
    line = "GET /certificates/DEMX-CERT-TDWX-ZNGY-8KQP/ HTTP/1.1"
    assert redact(line) == "GET /certificates/[redacted]/ HTTP/1.1"
    typed = "GET /certificates/?code=demx-cert-tdwx-zngy-8kqp HTTP/1.1"
    assert redact(typed) == "GET /certificates/?code=[redacted] HTTP/1.1"


def test_other_paths_are_left_alone():
    line = "GET /schedule/orders-of-the-day/?q=tickets HTTP/1.1"
    assert redact(line) == line


def test_stripes_checkout_session_id_is_redacted():
    assert redact("GET /orders/abc/?session_id=cs_live_123 HTTP/1.1") == (
        "GET /orders/[redacted]/?session_id=[redacted] HTTP/1.1"
    )


@pytest.fixture
def captured():
    """What reaches a handler of the named logger, after the logger's filters."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Collect()
    attached = []

    def attach(logger: logging.Logger) -> list[logging.LogRecord]:
        logger.addHandler(handler)
        attached.append(logger)
        return records

    yield attach
    for logger in attached:
        logger.removeHandler(handler)


def test_runservers_request_lines_are_redacted(captured):
    records = captured(logging.getLogger("django.server"))
    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.request = None
    handler.requestline = f"GET /newsletter/unsubscribe/{TOKEN}/ HTTP/1.1"
    handler.log_request(200, 512)
    handler.requestline = f"GET /tickets/{TOKEN}/calendar.ics HTTP/1.1"
    handler.log_request(404, 0)
    messages = [record.getMessage() for record in records]
    assert messages == [
        '"GET /newsletter/unsubscribe/[redacted]/ HTTP/1.1" 200 512',
        '"GET /tickets/[redacted]/calendar.ics HTTP/1.1" 404 0',
    ]


def test_django_request_messages_are_redacted(captured):
    records = captured(logging.getLogger("django.request"))
    logging.getLogger("django.request").error(
        "Internal Server Error: %s", f"/orders/{TOKEN}/"
    )
    assert [record.getMessage() for record in records] == [
        "Internal Server Error: /orders/[redacted]/"
    ]


def test_gunicorns_access_log_is_redacted(captured):
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("logger_class", "config.log_redaction.RedactingLogger")
    logger = cfg.logger_class(cfg)
    assert isinstance(logger, RedactingLogger)
    records = captured(logger.access_log)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/orders/{TOKEN}/?session_id=cs_test_1",
        "PATH_INFO": f"/orders/{TOKEN}/",
        "QUERY_STRING": "session_id=cs_test_1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": f"https://tidewell.example/tickets/{TOKEN}/",
        "HTTP_USER_AGENT": "Mail client",
    }
    response = SimpleNamespace(status="200 OK", sent=1234, headers=[])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    logger.access(response, request, environ, timedelta(milliseconds=12))
    (record,) = records
    line = record.getMessage()
    assert TOKEN not in line
    assert "cs_test_1" not in line
    assert '"GET /orders/[redacted]/?session_id=[redacted] HTTP/1.1" 200 1234' in line
    assert '"https://tidewell.example/tickets/[redacted]/"' in line


def test_gunicorns_error_log_is_redacted(captured):
    cfg = Config()
    cfg.set("logger_class", "config.log_redaction.RedactingLogger")
    logger = cfg.logger_class(cfg)
    records = captured(logger.error_log)
    logger.error("Error handling request %s", f"/newsletter/confirm/{TOKEN}/")
    assert [record.getMessage() for record in records] == [
        "Error handling request /newsletter/confirm/[redacted]/"
    ]


def test_the_procfile_starts_gunicorn_with_the_redacting_config():
    web = next(
        line
        for line in (BASE_DIR / "Procfile").read_text().splitlines()
        if line.startswith("web:")
    )
    assert "-c config/gunicorn.py" in web
    cfg = Config()
    namespace: dict = {}
    exec((BASE_DIR / "config" / "gunicorn.py").read_text(), namespace)  # noqa: S102
    cfg.set("logger_class", namespace["logger_class"])
    assert cfg.logger_class is RedactingLogger
    assert namespace["accesslog"] == "-"
