"""The cache every web machine shares: Django's Redis cache, made cheaper per request.

Two things Django's RedisCache does not do:

- Django's RedisCacheClient builds a new `redis.Redis` for every operation, and
  redis-py's constructor fills in its table of response callbacks each time:
  about a quarter of a millisecond, more than the round trip itself, on every
  cache read of every page. A client is safe to share between threads (the
  pool hands out connections), so one per pool is kept.
- A number every request reads (the page cache's generation) costs a round
  trip per request, most of what a cached page costs. `pushed_counter()` keeps
  it in each process's memory instead, pushed to every process through Redis
  pub/sub when it moves (`PushedCounter`; docs/deploy.md, "The page cache").
"""

import logging
import os
import threading
import time
import weakref

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)

# The listener reads the number again this often, whatever it was told.
CHECK_SECONDS = 1.0
# A copy the listener has not confirmed for this long is not trusted: each
# request then asks Redis itself, as it would without the listener.
TRUST_SECONDS = 3.0
RETRY_SECONDS = 1.0


class ReusedRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._clients[index] = self._client(connection_pool=pool)
        return client


# Every counter made, for the fork handler below.
_in_this_process: "weakref.WeakSet[PushedCounter]" = weakref.WeakSet()


def _clock() -> int:
    # A counter that starts from the clock never repeats the numbers it had
    # before Redis lost it, which may still be in the keys of stored entries.
    return time.time_ns() // 1000


class PushedCounter:
    """A counter in Redis that every process reads from its own memory.

    `advance()` increments it and publishes the new value on a channel. In
    each process a daemon thread subscribes to the channel, and only once
    Redis has confirmed the subscription reads the number (so no advance can
    fall between the two), then takes every value published. Every
    CHECK_SECONDS it pings through the subscription and reads the number
    again: the answer to the ping comes after every message published before
    it, so it confirms the copy, and a subscription that died silently (an
    idle connection dropped on the way) is found and opened again. `value()`
    answers from memory while the copy was confirmed within TRUST_SECONDS,
    and reads Redis otherwise: before the thread is up, in a process just
    forked, while Redis is unreachable. The value only moves forward; if
    Redis itself went back (a restored snapshot), it is moved on past the
    copy, so no number is used twice.
    """

    def __init__(self, client: redis.Redis, key: str):
        self.client = client
        self.key = key
        # Channels are server-wide, keys are per database: two sites on one
        # Redis must not hear each other's numbers.
        database = client.connection_pool.connection_kwargs.get("db", 0)
        self.channel = f"{key}:advanced:db{database}"
        self._value: int | None = None
        self._confirmed = 0.0
        self._pid: int | None = None
        self._lock = threading.Lock()
        _in_this_process.add(self)

    def value(self) -> int:
        self._listen_in_this_process()
        if time.monotonic() - self._confirmed < TRUST_SECONDS:
            return self._value
        return self._remember(self._read())

    def advance(self) -> int:
        self.client.set(self.key, _clock(), nx=True)
        value = self.client.incr(self.key)
        self.client.publish(self.channel, value)
        return self._remember(value)

    def _read(self) -> int:
        value = self.client.get(self.key)
        if value is None:
            self.client.set(self.key, _clock(), nx=True)
            value = self.client.get(self.key)
        return int(value)

    def _remember(self, value: int) -> int:
        with self._lock:
            if self._value is None or value > self._value:
                self._value = value
            return self._value

    def _listen_in_this_process(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            # A forked process has the parent's numbers but not its thread.
            self._pid, self._confirmed = os.getpid(), 0.0
            threading.Thread(
                target=self._listen, name=f"counter {self.key}", daemon=True
            ).start()

    def _listen(self) -> None:
        logged = False
        while True:
            try:
                self._follow()
            except (redis.RedisError, OSError, ValueError) as error:
                # Once per outage, not once per retry: requests meanwhile
                # read Redis themselves and the site keeps working.
                if self._confirmed or not logged:
                    logger.warning("Not following %s: %s", self.channel, error)
                    logged = True
            self._confirmed = 0.0
            time.sleep(RETRY_SECONDS)

    def _follow(self) -> None:
        pubsub = self.client.pubsub()
        try:
            pubsub.subscribe(self.channel)
            deadline = time.monotonic() + TRUST_SECONDS
            while (message := pubsub.get_message(timeout=CHECK_SECONDS)) is None or (
                message["type"] != "subscribe"
            ):
                if time.monotonic() > deadline:
                    raise redis.TimeoutError("no confirmation of the subscription")
            below = False
            while True:
                pubsub.ping()
                stored = self._read()
                if below and stored < self._value:
                    self._move_past(self._value)
                below = stored < self._remember(stored)
                checked, answered = time.monotonic(), False
                while (wait := checked + CHECK_SECONDS - time.monotonic()) > 0:
                    message = pubsub.get_message(timeout=wait)
                    if message is None:
                        continue
                    if message["type"] == "message":
                        self._remember(int(message["data"]))
                    elif message["type"] == "pong":
                        answered, self._confirmed = True, time.monotonic()
                if not answered:
                    raise redis.TimeoutError("the subscription stopped answering")
        finally:
            pubsub.close()

    def _move_past(self, value: int) -> None:
        # Twice below this process's copy: Redis lost advances. Numbers at or
        # below the copy may key entries drawn before changes since committed.
        forward = max(value + 1, _clock())
        self.client.set(self.key, forward)
        self.client.publish(self.channel, forward)
        self._remember(forward)


_counters: dict[tuple[str, str], PushedCounter] = {}
_counters_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # A lock held by another thread at the fork stays held in the child for
    # ever, and the child has none of the parent's threads.
    global _counters_lock
    _counters_lock = threading.Lock()
    for counter in list(_in_this_process):
        counter._lock = threading.Lock()
        counter._pid, counter._confirmed = None, 0.0


os.register_at_fork(after_in_child=_after_fork_in_child)


class SharedRedisCache(RedisCache):
    """The cache every web machine shares (CACHE_URL=redis://...)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient

    def pushed_counter(self, key: str) -> PushedCounter:
        """The counter under `key`, one per process (Django keeps a cache per thread).

        Stored as Django stores an integer, so `get()` and `incr()` still read it.
        """
        full_key = self.make_and_validate_key(key)
        where = (self._servers[0], full_key)
        with _counters_lock:
            counter = _counters.get(where)
            if counter is None:
                client = self._cache.get_client(full_key, write=True)
                counter = _counters[where] = PushedCounter(client, full_key)
            return counter
