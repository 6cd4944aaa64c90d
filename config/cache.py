"""Django's Redis cache, with one client per connection pool instead of one per call.

Django's RedisCacheClient builds a new `redis.Redis` for every operation, and
redis-py's constructor fills in its table of response callbacks each time:
about a quarter of a millisecond, more than the round trip itself, on every
cache read of every page. A client is safe to share between threads (the
pool hands out connections), so one per pool is kept.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


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


class SharedRedisCache(RedisCache):
    """The cache every web machine shares (CACHE_URL=redis://...)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient
