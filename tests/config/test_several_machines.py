"""What several web machines share: sessions in the database, uploads in S3."""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from storages.backends.s3 import S3Storage

from config.settings.base import BASE_DIR

S3_ENV = {
    "AWS_STORAGE_BUCKET_NAME": "tidewell-media",
    "AWS_S3_REGION_NAME": "eu-west-1",
}


def settings_of(variables: dict, expression: str):
    """A value of the dev settings under `variables`, read in a fresh process."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from config.settings import dev; "
            f"print(json.dumps({expression}))",
        ],
        cwd=BASE_DIR,
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_sessions_are_in_the_database_read_through_a_shared_cache():
    assert settings_of({"CACHE_URL": "locmem://"}, "dev.SESSION_ENGINE") == (
        "django.contrib.sessions.backends.db"
    )
    assert settings_of({"CACHE_URL": "redis://cache:6379/1"}, "dev.SESSION_ENGINE") == (
        "django.contrib.sessions.backends.cached_db"
    )


def test_a_bucket_moves_uploads_to_s3_and_images_are_allowed_from_it():
    storage = settings_of(S3_ENV, "dev.STORAGES['default']")
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"]["bucket_name"] == "tidewell-media"
    assert storage["OPTIONS"]["querystring_auth"] is True
    origins = settings_of(
        S3_ENV, "dev.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']"
    )
    assert "https://tidewell-media.s3.eu-west-1.amazonaws.com" in origins
    cdn = {**S3_ENV, "AWS_S3_CUSTOM_DOMAIN": "media.tidewell.example"}
    origins = settings_of(cdn, "dev.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']")
    assert "https://media.tidewell.example" in origins


def test_an_endpoint_without_a_bucket_is_refused():
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings.dev"],
        cwd=BASE_DIR,
        env={**os.environ, "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "need AWS_STORAGE_BUCKET_NAME" in result.stderr


class S3StandIn(BaseHTTPRequestHandler):
    """Just enough of S3's object API (path style) for a storage round trip."""

    objects: dict[str, bytes] = {}
    requests: list[tuple[str, str]] = []

    def log_message(self, *args):
        pass

    def _key(self) -> str:
        return urlsplit(self.path).path

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.objects[self._key()] = body
        self.requests.append(("PUT", self._key()))
        self.send_response(200)
        self.send_header("ETag", '"standin"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _answer(self, *, body: bool) -> None:
        self.requests.append((self.command, self._key()))
        data = self.objects.get(self._key())
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", '"standin"')
        self.send_header("Last-Modified", "Wed, 02 Dec 2026 03:00:00 GMT")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self):
        self._answer(body=True)

    def do_HEAD(self):
        self._answer(body=False)


@pytest.fixture
def s3_standin(monkeypatch):
    # Plain bodies: no aws-chunked checksum trailers for the stand-in to read.
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    monkeypatch.setenv("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")
    server = ThreadingHTTPServer(("127.0.0.1", 0), S3StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    S3StandIn.objects.clear()
    S3StandIn.requests.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_uploads_round_trip_through_the_configured_storage(s3_standin):
    options = settings_of(
        {**S3_ENV, "AWS_S3_ENDPOINT_URL": s3_standin},
        "dev.STORAGES['default']['OPTIONS']",
    )
    storage = S3Storage(**options, access_key="standin", secret_key="standin-secret")
    name = storage.save("images/logo.svg", ContentFile(b"<svg/>"))
    assert ("PUT", f"/tidewell-media/media/{name}") in S3StandIn.requests
    with storage.open(name) as stored:
        assert stored.read() == b"<svg/>"
    url = storage.url(name)
    # Private objects, linked with a signature that outlives a cached page.
    assert url.startswith(f"{s3_standin}/tidewell-media/media/images/logo")
    assert "X-Amz-Signature=" in url
    assert "X-Amz-Expires=3600" in url
