"""Emptying the cache between tests (conftest.py)."""

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def cache_clear() -> None:
    """Empties this test process's cache: a local-memory cache whole; in Redis, which the xdist
    workers share, only the keys under this process's prefix (crm.settings_test)."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        backend.clear()
        return
    client = backend._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{backend.key_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
