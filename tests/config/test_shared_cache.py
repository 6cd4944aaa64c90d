"""Two web processes on one Redis: each sees the pages and invalidations of the other.

Real gunicorn processes with the production settings on a throwaway SQLite
database and Redis database 3 (REDIS_TEST_CACHE_URL), as two web machines
behind a load balancer would run; the publish comes from a third process.
"""

import http.client
import os
import subprocess
import sys
import time

import pytest
import redis

from bench.common import free_port, production_env

CACHE_URL = os.environ.get("REDIS_TEST_CACHE_URL", "redis://127.0.0.1:6379/3")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE_HOME = """
from wagtail.models import Page, Site
from home.models import HomePage, SiteSettings
from newsletter.models import NewsletterSettings
root = Page.get_first_root_node()
home = HomePage(title="Before", slug="shared", introduction="x")
root.add_child(instance=home)
site = Site.objects.get(is_default_site=True)
site.root_page = home
site.save()
SiteSettings.objects.create(site=site, organisation_name="Two machines")
# Settings made on a first visit would count as a change and clear the cache.
NewsletterSettings.objects.create(site=site)
"""
PUBLISH = """
from home.models import HomePage
home = HomePage.objects.get()
home.title = "After"
home.save_revision().publish()
"""


def redis_available() -> bool:
    try:
        return redis.Redis.from_url(CACHE_URL, socket_timeout=1).ping()
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(
    not redis_available(), reason=f"needs Redis at {CACHE_URL}"
)


def get(port: int) -> tuple[str, str]:
    deadline = time.monotonic() + 60
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request("GET", "/", headers={"Host": "127.0.0.1"})
            response = connection.getresponse()
            body = response.read().decode()
            assert response.status == 200, body[:500]
            return response.getheader("X-Cache"), body
        except OSError:  # still starting
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.fixture
def two_web_machines(tmp_path):
    env = production_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/shared.sqlite3",
        CACHE_URL=CACHE_URL,
        BASE_URL="http://127.0.0.1",
        DEFAULT_FROM_EMAIL="test@example.com",
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
        SECURE_HSTS_SECONDS="0",
        PAGE_CACHE_SECONDS="60",
    )

    def manage(*command: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )

    redis.Redis.from_url(CACHE_URL).flushdb()
    manage("migrate", "--noinput", "-v0")
    manage("shell", "-c", MAKE_HOME)
    manage("collectstatic", "--noinput", "-v0")
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        for port in ports
    ]
    try:
        yield ports, lambda: manage("shell", "-c", PUBLISH)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        redis.Redis.from_url(CACHE_URL).flushdb()


def test_a_publish_reaches_every_web_process_through_the_shared_cache(
    two_web_machines,
):
    (first, second), publish = two_web_machines
    assert get(first)[0] == "miss"
    cached, body = get(second)
    # Rendered by the first process, served by the second.
    assert cached == "hit"
    assert "<h1>Before</h1>" in body
    publish()  # a third process, as an editor's request on any machine
    for port in (second, first):
        cached, body = get(port)
        assert "<h1>After</h1>" in body, port
    assert get(first)[0] == "hit"
