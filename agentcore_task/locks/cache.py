"""The ``"cache"`` lock backend: an owner token stored under the lock's key in a Django cache.

On Django's ``RedisCache`` the backend talks to Redis directly, so that each step is one
atomic command: ``SET key token NX PX ttl`` takes the lock, a Lua compare-and-delete releases
it only for its owner, ``EXISTS`` answers whether it is held. Any other cache gets the
portable path: ``cache.add`` (atomic on memcached and the database cache), and a release
that reads the value, compares it and deletes it in two steps; there, if the lock's TTL
runs out between the read and the delete and another owner takes it in that instant, the
delete removes the newcomer's lock.

The timeout is the TTL: a holder that dies without releasing blocks the name until then.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.core.cache import BaseCache, caches
from django.core.cache.backends.redis import RedisCache

from agentcore_task import conf
from agentcore_task.locks.base import LockBackendError

if TYPE_CHECKING:
    from redis.commands.core import Script

__all__ = ["KEY_PREFIX", "CacheLockBackend", "cache_key"]

KEY_PREFIX = "agentcore_task:lock:"
HASHED_PREFIX = "sha256:"
"""Hashed keys live under ``KEY_PREFIX + HASHED_PREFIX``, where no readable key ever does."""
# Names that are short and plain ASCII are kept readable in the key; anything else is hashed,
# so that every cache (memcached: at most 250 bytes, no spaces or control characters) takes it.
_MAX_PLAIN_NAME = 150
_PLAIN_NAME = re.compile(r"[!-~]+")

_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


def cache_key(lock_name: str) -> str:
    """Return the cache key of a lock (before the cache's own prefix and version).

    A short plain-ASCII name is kept readable; any other name, and any name that itself
    starts with ``sha256:``, is hashed. So the readable name ``"sha256:<hex>"`` can never
    land on the key that another, hashed name maps to.
    """
    plain = len(lock_name) <= _MAX_PLAIN_NAME and _PLAIN_NAME.fullmatch(lock_name)
    if plain and not lock_name.startswith(HASHED_PREFIX):
        return KEY_PREFIX + lock_name
    return KEY_PREFIX + HASHED_PREFIX + _sha256(lock_name)


def _sha256(text: str) -> str:
    # surrogatepass: a str may hold lone surrogates, which strict UTF-8 refuses to encode.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# Django builds a new redis-py client object on every get_client() call, which takes about as
# long as the round trip of the command itself (~60 us). Writes always go to the first
# server's pool, so one client per Django cache client is equivalent; weak keys let it go
# with its cache (Django makes one cache object per thread).
_redis_clients: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_release_script: Script | None = None


def _redis_client(cache: BaseCache) -> Any:
    """Return the redis-py client for writes behind a Django RedisCache, None for others.

    Keys sent through it come from ``cache.make_key``: Django's key validation checks
    memcached's rules, which mean nothing to Redis.
    """
    if not isinstance(cache, RedisCache):
        return None
    cache_client = cache._cache
    client = _redis_clients.get(cache_client)
    if client is None:
        client = _redis_clients[cache_client] = cache_client.get_client(write=True)
    return client


def _release(client: Any, key: str, owner: str) -> bool:
    """Run the compare-and-delete script (EVALSHA; redis-py loads it on first use)."""
    global _release_script
    if _release_script is None:
        _release_script = client.register_script(_RELEASE_SCRIPT)
    return bool(_release_script(keys=[key], args=[owner], client=client))


@contextmanager
def _backend_errors(cache_alias: str) -> Iterator[None]:
    """Turn whatever the cache client raises (connection refused, timeout) into one error."""
    try:
        yield
    except Exception as exc:
        raise LockBackendError(
            f"cache {cache_alias!r} failed: {type(exc).__name__}: {exc}".strip()
        ) from exc


class CacheLockBackend:
    """Locks in the cache named by ``AGENTCORE_TASK_LOCK_CACHE``."""

    name = "cache"

    def acquire(self, lock_name: str, timeout: int, owner: str) -> bool:
        """Store ``owner`` under the lock's key unless a value is there, with TTL ``timeout``."""
        alias = conf.lock_cache_alias()
        cache, key = caches[alias], cache_key(lock_name)
        with _backend_errors(alias):
            client = _redis_client(cache)
            if client is not None:
                full_key = cache.make_key(key)
                return bool(client.set(full_key, owner, nx=True, px=timeout * 1000))
            return bool(cache.add(key, owner, timeout))

    def release(self, lock_name: str, owner: str) -> bool:
        """Delete the lock's key if its value is ``owner``."""
        alias = conf.lock_cache_alias()
        cache, key = caches[alias], cache_key(lock_name)
        with _backend_errors(alias):
            client = _redis_client(cache)
            if client is not None:
                return _release(client, cache.make_key(key), owner)
            if cache.get(key) != owner:
                return False
            cache.delete(key)
            return True

    def force_release(self, lock_name: str) -> str | None:
        """Delete the lock's key whatever its value."""
        alias = conf.lock_cache_alias()
        cache, key = caches[alias], cache_key(lock_name)
        with _backend_errors(alias):
            client = _redis_client(cache)
            if client is not None:
                full_key = cache.make_key(key)
                pipeline = client.pipeline(transaction=True)  # MULTI: read and delete as one
                pipeline.get(full_key)
                pipeline.delete(full_key)
                holder, deleted = pipeline.execute()
            else:
                holder = cache.get(key)
                deleted = cache.delete(key)
        if not deleted:
            return None
        if isinstance(holder, bytes):
            holder = holder.decode("utf-8", "replace")
        return f"deleted the cache key held by owner {holder!r}"

    def is_locked(self, lock_name: str) -> bool:
        """Tell whether the lock's key exists (an expired key does not)."""
        alias = conf.lock_cache_alias()
        cache, key = caches[alias], cache_key(lock_name)
        with _backend_errors(alias):
            client = _redis_client(cache)
            if client is not None:
                return bool(client.exists(cache.make_key(key)))
            return bool(cache.has_key(key))
