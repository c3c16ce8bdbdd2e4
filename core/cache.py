"""Django's Redis cache, reaching the current primary through Redis Sentinel.

With ``CELERY_BROKER_URL=sentinel://…`` the cache (the patient link's rate
limit) lives in the same Redis as the broker, so it must follow a failover
too. Django's own backend only takes ``redis://`` addresses; this client asks
the Sentinels for the primary of ``master_name`` and, when that connection
breaks, asks again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.sentinel import Sentinel


class SentinelCacheClient(RedisCacheClient):
    def __init__(self, servers, *, master_name: str, socket_timeout: float = 1,
                 socket_connect_timeout: float = 1, **options):
        super().__init__(servers, **options)
        first = urlsplit(servers[0])
        self._master_name = master_name
        self._connection: dict[str, Any] = {
            "db": int(first.path.lstrip("/") or 0),
            "password": unquote(first.password) if first.password else None,
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_connect_timeout,
        }
        nodes = [(urlsplit(url).hostname, urlsplit(url).port or 26379) for url in servers]
        self._sentinel = Sentinel(nodes, sentinel_kwargs={"socket_timeout": socket_timeout,
                                                          "socket_connect_timeout":
                                                              socket_connect_timeout})
        self._master = None

    def get_client(self, key=None, *, write=False):
        # Reads go to the primary too: a replica may lag by the very counter
        # the rate limit just wrote.
        if self._master is None:
            self._master = self._sentinel.master_for(self._master_name, **self._connection)
        return self._master


class SentinelRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SentinelCacheClient
