"""The page cache's generation, kept in each process's memory and pushed by Redis.

Each PushedCounter here stands for one web process: its own client and its
own listener thread, on Redis database 11 (REDIS_TEST_COUNTER_URL). The
requests a process makes from its request thread are counted, so a test can
tell a number read from memory from one read from Redis.
"""

import os
import signal
import threading
import time
import uuid

import pytest
import redis

from config import cache as shared_cache
from config.cache import PushedCounter, SharedRedisCache

URL = os.environ.get("REDIS_TEST_COUNTER_URL", "redis://127.0.0.1:6379/11")


def redis_available() -> bool:
    try:
        return redis.Redis.from_url(URL, socket_timeout=1).ping()
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not redis_available(), reason=f"needs Redis at {URL}")


class CountingRedis(redis.Redis):
    """A client that counts the GETs made outside the listener thread."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request_reads = 0

    def get(self, name):
        if not threading.current_thread().name.startswith("counter "):
            self.request_reads += 1
        return super().get(name)


@pytest.fixture
def key():
    name = f"test:{uuid.uuid4().hex}"
    yield name
    redis.Redis.from_url(URL).delete(name, f":1:{name}")


def process(key: str, **kwargs) -> PushedCounter:
    """A counter as one web process has it."""
    return PushedCounter(CountingRedis.from_url(URL, **kwargs), key)


def eventually(check, *, within: float = 10.0):
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.01)


def following(counter: PushedCounter) -> PushedCounter:
    counter.value()  # starts its listener
    eventually(lambda: counter._confirmed > 0)
    return counter


@pytest.fixture
def slow_checks(monkeypatch):
    # Only pushed values move a copy during the test.
    monkeypatch.setattr(shared_cache, "CHECK_SECONDS", 60.0)
    monkeypatch.setattr(shared_cache, "TRUST_SECONDS", 120.0)


def test_an_advance_reaches_every_process_without_a_read_per_request(key, slow_checks):
    editor, visitor = process(key), following(process(key))
    reads = visitor.client.request_reads
    first = visitor.value()
    advanced = editor.advance()
    assert advanced == first + 1
    # The process that advanced it knows at once.
    assert editor.value() == advanced
    eventually(lambda: visitor.value() == advanced)
    for _ in range(100):
        assert visitor.value() == advanced
    assert visitor.client.request_reads == reads


def test_until_its_listener_confirms_a_process_reads_redis_every_time(key, monkeypatch):
    monkeypatch.setattr(PushedCounter, "_listen", lambda self: None)
    editor, visitor = process(key), process(key)
    first = editor.advance()
    assert visitor.value() == first
    editor.advance()
    # No waiting: without a listener nothing is remembered but what Redis says.
    assert visitor.value() == first + 1
    assert visitor.client.request_reads == 2


def test_an_advance_that_was_not_published_is_found_by_the_next_check(key, monkeypatch):
    monkeypatch.setattr(shared_cache, "CHECK_SECONDS", 0.1)
    visitor = following(process(key))
    first = visitor.value()
    redis.Redis.from_url(URL).incr(key)  # as if the message were lost
    eventually(lambda: visitor.value() == first + 1)


def test_a_process_follows_again_after_redis_drops_its_subscription(
    key, slow_checks, monkeypatch
):
    monkeypatch.setattr(shared_cache, "RETRY_SECONDS", 0.05)
    editor = process(key)
    visitor = following(process(key, client_name=f"visitor-{key}"))
    admin = redis.Redis.from_url(URL)
    for client in admin.client_list(_type="pubsub"):
        if client["name"] == f"visitor-{key}":
            admin.client_kill_filter(_id=client["id"])
    eventually(lambda: visitor._confirmed == 0)
    # Meanwhile each request asks Redis, so nothing is missed.
    advanced = editor.advance()
    assert visitor.value() == advanced
    eventually(lambda: visitor._confirmed > 0)
    advanced = editor.advance()
    eventually(lambda: visitor.value() == advanced)


def test_a_counter_never_hears_another_database(key, slow_checks):
    here = following(process(key))
    other = PushedCounter(redis.Redis.from_url(URL.rsplit("/", 1)[0] + "/12"), key)
    try:
        before = here.value()
        other.advance()
        other.advance()
        here_advanced = process(key).advance()
        eventually(lambda: here.value() == here_advanced)
        assert here_advanced == before + 1
    finally:
        other.client.delete(key)


def test_the_shared_cache_gives_one_counter_per_process_stored_as_django_stores_it(
    key,
):
    first = SharedRedisCache(URL, {})
    second = SharedRedisCache(URL, {})
    counter = first.pushed_counter(key)
    assert second.pushed_counter(key) is counter
    value = counter.advance()
    # Django's own get() and incr() still read the same number.
    assert first.get(key) == value
    assert first.incr(key) == value + 1
    eventually(lambda: counter.value() == value + 1)


def test_a_subscription_that_stops_answering_is_not_trusted(key, monkeypatch):
    monkeypatch.setattr(shared_cache, "CHECK_SECONDS", 0.1)
    monkeypatch.setattr(shared_cache, "RETRY_SECONDS", 0.05)
    # As if the connection died on the way without either end noticing: the
    # pings get no answer, though nothing fails.
    monkeypatch.setattr(redis.client.PubSub, "ping", lambda self, message=None: None)
    editor, visitor = process(key), process(key)
    visitor.value()
    time.sleep(0.5)
    assert visitor._confirmed == 0
    advanced = editor.advance()
    reads = visitor.client.request_reads
    assert visitor.value() == advanced
    assert visitor.client.request_reads == reads + 1


def test_a_redis_that_went_back_is_moved_past_every_number_used(key, monkeypatch):
    monkeypatch.setattr(shared_cache, "CHECK_SECONDS", 0.1)
    visitor = following(process(key))
    used = process(key).advance()
    eventually(lambda: visitor.value() == used)
    redis.Redis.from_url(URL).set(key, used - 5)  # a snapshot restored
    eventually(lambda: int(redis.Redis.from_url(URL).get(key)) > used)
    assert visitor.value() > used


def test_a_process_forked_while_its_parent_listens_follows_on_its_own(key, slow_checks):
    parent = following(process(key))
    reader, writer = os.pipe()
    # The listener may hold the counter's lock at the moment of a fork: here
    # another thread holds it, and the child has no such thread to let go.
    held, fork_done = threading.Event(), threading.Event()

    def hold_lock():
        with parent._lock:
            held.set()
            fork_done.wait()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    held.wait()
    pid = os.fork()
    if pid != 0:
        fork_done.set()
        holder.join()
    if pid == 0:  # the child: its own listener, no lock left held
        os.close(reader)
        try:
            signal.alarm(10)
            following(parent)
            first = parent.value()
            process(key).advance()
            eventually(lambda: parent.value() == first + 1)
            os.write(writer, b"ok")
        finally:
            os._exit(0)
    os.close(writer)
    answer = os.read(reader, 2)
    os.waitpid(pid, 0)
    assert answer == b"ok"
