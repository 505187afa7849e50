"""The ``"cache"`` lock backend: an owner token stored under the lock's key in a Django cache.

On Django's ``RedisCache`` the backend talks to Redis directly, so that each step is one
atomic command: a Lua ``SET key token NX PX ttl`` takes the lock, a Lua compare-and-delete
releases it only for its owner, ``EXISTS`` answers whether it is held. Any other cache gets the
portable path: ``cache.add`` (atomic on memcached and the database cache), and a release
that reads the value, compares it and deletes it in two steps; there, if the lock's TTL
runs out between the read and the delete and another owner takes it in that instant, the
delete removes the newcomer's lock.

The timeout is the TTL: a holder that dies without releasing blocks the name until then.

So that operators can list held locks (names, holder task, TTL left) and free one left by a
killed worker, a lock taken on Redis is also entered in one registry hash
(:data:`REGISTRY_KEY`), by the same Lua script that takes it (still one round trip), and
removed by the script that releases it; an entry whose key expired is dropped when the
listing next reads it. Other caches have no way to enumerate keys, so the
listing reports them as unsupported (their locks still work, and can still be force-released
by name).

Each acquire stores ``"<owner token>#<random>"``: the owner's releases match the token part,
and an acquire that failed (Redis stalled or the network timed out after the ``SET`` was
sent, which Redis may still execute when it resumes) can be undone exactly, by a
compare-and-delete of that one value. It is tried at once, and again on the next call of
this process, so a stall never leaves a lock nobody owns for the whole TTL; the random part
means the undo can never delete a lock the same thread took later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.core.cache import BaseCache, caches
from django.core.cache.backends.redis import RedisCache

from agentcore_task import conf
from agentcore_task.locks.base import HeldLock, LockBackendError

if TYPE_CHECKING:
    from redis.commands.core import Script

__all__ = ["KEY_PREFIX", "REGISTRY_KEY", "CacheLockBackend", "ListingUnsupported", "cache_key"]

logger = logging.getLogger("agentcore_task.locks")

KEY_PREFIX = "agentcore_task:lock:"
HASHED_PREFIX = "sha256:"
"""Hashed keys live under ``KEY_PREFIX + HASHED_PREFIX``, where no readable key ever does."""
# Names that are short and plain ASCII are kept readable in the key; anything else is hashed,
# so that every cache (memcached: at most 250 bytes, no spaces or control characters) takes it.
_MAX_PLAIN_NAME = 150
_PLAIN_NAME = re.compile(r"[!-~]+")

# Deletes the key when its value is ARGV[1] (one acquire's exact value) or starts with
# ARGV[1] .. '#' (any acquire of the owner token ARGV[1]), and its registry entry (KEYS[2]).
_RELEASE_SCRIPT = """
local value = redis.call('get', KEYS[1])
if value and (value == ARGV[1] or string.sub(value, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '#')
then
    redis.call('hdel', KEYS[2], KEYS[1])
    return redis.call('del', KEYS[1])
end
return 0
"""
# SET NX PX and, when that took the lock, its registry entry: one round trip, as before.
_ACQUIRE_SCRIPT = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    redis.call('hset', KEYS[2], KEYS[1], ARGV[3])
    return 1
end
return 0
"""
_SEPARATOR = "#"


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
_acquire_script: Script | None = None


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


def _release(client: Any, key: str, registry: str, owner: str) -> bool:
    """Run the compare-and-delete script (EVALSHA; redis-py loads it on first use)."""
    global _release_script
    if _release_script is None:
        _release_script = client.register_script(_RELEASE_SCRIPT)
    return bool(_release_script(keys=[key, registry], args=[owner], client=client))


def _acquire(client: Any, key: str, registry: str, value: str, ttl_ms: int, record: str) -> bool:
    """Run the take-and-register script (EVALSHA; redis-py loads it on first use)."""
    global _acquire_script
    if _acquire_script is None:
        _acquire_script = client.register_script(_ACQUIRE_SCRIPT)
    return bool(_acquire_script(keys=[key, registry], args=[value, ttl_ms, record], client=client))


def _held_by(value: Any, owner: str) -> bool:
    """Tell whether a stored lock value is ``owner``'s (the exact value, or its token)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return isinstance(value, str) and (value == owner or value.startswith(owner + _SEPARATOR))


def _compare_and_delete(cache: BaseCache, key: str, owner: str) -> bool:
    """Delete the lock's key if :func:`_held_by` ``owner``; True when it did."""
    client = _redis_client(cache)
    if client is not None:
        return _release(client, cache.make_key(key), cache.make_key(REGISTRY_KEY), owner)
    if not _held_by(cache.get(key), owner):
        return False
    cache.delete(key)
    return True


# Acquires that failed after their SET may have been sent: (alias, key, exact value) -> the
# monotonic time after which the TTL has expired the key anyway.
_stalled: dict[tuple[str, str, str], float] = {}
_stalled_mutex = threading.Lock()


def _undo_failed_acquire(alias: str, cache: BaseCache, key: str, value: str, ttl: int) -> None:
    """Delete what a failed acquire may have stored, at once; remember it if that fails too."""
    try:
        if _compare_and_delete(cache, key, value):
            logger.warning(
                "agentcore_task deleted the cache lock key %r its failed acquire had stored",
                key,
            )
            return
    except Exception:
        logger.debug("agentcore_task could not undo a failed lock acquire yet", exc_info=True)
    with _stalled_mutex:
        _stalled[(alias, key, value)] = time.monotonic() + ttl


def _retry_undo(alias: str, cache: BaseCache, *, key: str | None = None) -> None:
    """Undo remembered failed acquires on ``alias`` (only those of ``key``, if given).

    Each is tried once per call; one that fails again stays for the next call. Never raises.
    """
    if not _stalled:
        return
    now = time.monotonic()
    with _stalled_mutex:
        mine = [e for e in _stalled if e[0] == alias and (key is None or e[1] == key)]
        # Taken out while tried, so two threads do not both try one; a past deadline means
        # the TTL ran out and the server dropped the key itself.
        due = [(entry, _stalled.pop(entry)) for entry in mine]
        due = [(entry, deadline) for entry, deadline in due if deadline > now]
    for number, (entry, _deadline) in enumerate(due):
        _alias, stalled_key, value = entry
        try:
            if _compare_and_delete(cache, stalled_key, value):
                logger.warning(
                    "agentcore_task deleted the cache lock key %r a stalled acquire had stored "
                    "after it timed out",
                    stalled_key,
                )
        except Exception:
            with _stalled_mutex:
                for left, deadline in due[number:]:
                    _stalled.setdefault(left, deadline)
            logger.debug("agentcore_task could not undo a stalled lock acquire yet", exc_info=True)
            return


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

    def acquire(self, lock_name: str, timeout: int, owner: str, holder: str | None = None) -> bool:
        """Store a value of ``owner`` under the lock's key unless one is there, TTL ``timeout``.

        On failure, what the attempt may have stored is deleted at once or, if the server
        still does not answer, on a later call (see the module's docstring). On Redis a
        taken lock is also entered in the registry the listing reads.
        """
        alias = conf.lock_cache_alias()
        cache, key = caches[alias], cache_key(lock_name)
        _retry_undo(alias, cache, key=key)
        value = f"{owner}{_SEPARATOR}{secrets.token_hex(8)}"
        try:
            with _backend_errors(alias):
                client = _redis_client(cache)
                if client is not None:
                    record = _record(lock_name, value, holder)
                    taken = _acquire(
                        client,
                        cache.make_key(key),
                        cache.make_key(REGISTRY_KEY),
                        value,
                        timeout * 1000,
                        record,
                    )
                else:
                    taken = bool(cache.add(key, value, timeout))
        except LockBackendError:
            _undo_failed_acquire(alias, cache, key, value, timeout)
            raise
        _retry_undo(alias, cache)
        return taken

    def release(self, lock_name: str, owner: str) -> bool:
        """Delete the lock's key if its value is one of ``owner``'s."""
        alias = conf.lock_cache_alias()
        cache, key = caches[alias], cache_key(lock_name)
        _retry_undo(alias, cache, key=key)
        with _backend_errors(alias):
            released = _compare_and_delete(cache, key, owner)
        _retry_undo(alias, cache)
        return released

    def force_release(self, lock_name: str) -> str | None:
        """Delete the lock's key whatever its value."""
        alias = conf.lock_cache_alias()
        cache, key = caches[alias], cache_key(lock_name)
        _retry_undo(alias, cache, key=key)
        with _backend_errors(alias):
            client = _redis_client(cache)
            if client is not None:
                full_key = cache.make_key(key)
                pipeline = client.pipeline(transaction=True)  # MULTI: read and delete as one
                pipeline.get(full_key)
                pipeline.delete(full_key)
                pipeline.hdel(cache.make_key(REGISTRY_KEY), full_key)
                holder, deleted, _forgotten = pipeline.execute()
            else:
                holder = cache.get(key)
                deleted = cache.delete(key)
        if not deleted:
            return None
        if isinstance(holder, bytes):
            holder = holder.decode("utf-8", "replace")
        return f"deleted the cache key held by owner {holder!r}"

    def is_held(self, lock_name: str, owner: str) -> bool:
        """Tell whether the lock's key holds one of ``owner``'s values (not expired)."""
        alias = conf.lock_cache_alias()
        cache, key = caches[alias], cache_key(lock_name)
        with _backend_errors(alias):
            client = _redis_client(cache)
            value = client.get(cache.make_key(key)) if client is not None else cache.get(key)
        return _held_by(value, owner)

    def is_locked(self, lock_name: str) -> bool:
        """Tell whether the lock's key exists (an expired key does not)."""
        alias = conf.lock_cache_alias()
        cache, key = caches[alias], cache_key(lock_name)
        _retry_undo(alias, cache, key=key)
        with _backend_errors(alias):
            client = _redis_client(cache)
            if client is not None:
                return bool(client.exists(cache.make_key(key)))
            return bool(cache.has_key(key))

    def held_locks(self) -> list[HeldLock]:
        """List the cache locks held now, from the registry (Django's RedisCache only).

        Each entry's TTL is read from its key; entries whose key has expired or was deleted
        (their holder died, or a release's clean-up failed) are dropped on the way. Other
        caches cannot enumerate keys: :class:`ListingUnsupported` says so.
        """
        alias = conf.lock_cache_alias()
        cache = caches[alias]
        client = _redis_client(cache)
        if client is None:
            raise ListingUnsupported(
                f"cache {alias!r} is a {type(cache).__name__}: listing cache locks needs "
                "django.core.cache.backends.redis.RedisCache"
            )
        registry = cache.make_key(REGISTRY_KEY)
        with _backend_errors(alias):
            entries = client.hgetall(registry)
            fields = sorted(entries)
            pipeline = client.pipeline(transaction=False)
            for field in fields:
                pipeline.pttl(field)
            ttls = pipeline.execute() if fields else []
        held: list[HeldLock] = []
        for field, ttl in zip(fields, ttls, strict=True):
            if ttl is None or (ttl < 0 and ttl != -1):  # -2: gone; -1 would be "no TTL"
                _forget_if_gone(client, registry, field)
                continue
            record = _decode_record(entries[field])
            held.append(
                HeldLock(
                    name=record.get("name") or str(field),
                    backend=self.name,
                    holder=record.get("holder"),
                    owner=str(record.get("owner", "")).split(_SEPARATOR, 1)[0],
                    since=_since(record.get("since")),
                    ttl=None if ttl == -1 else ttl / 1000,
                    pid=None,
                )
            )
        return sorted(held, key=lambda lock: (lock["since"] or _EPOCH, lock["name"]))


class ListingUnsupported(LockBackendError):
    """The configured cache cannot enumerate its locks (it is not Django's RedisCache)."""


REGISTRY_KEY = "agentcore_task:lock-registry"
"""A Redis hash (under the cache's prefix): full lock key -> JSON {name, holder, owner,
since}. The lock keys themselves carry only the owner's value, and hashed names cannot be
read back from their key, so the listing reads the names from here."""
_EPOCH = dt.datetime.fromtimestamp(0, tz=dt.UTC)

# Drops a registry entry only when its lock key is gone, in one step: an acquire that took
# the name again meanwhile (and re-registered it) keeps its entry.
_FORGET_SCRIPT = """
if redis.call('exists', ARGV[1]) == 0 then
    return redis.call('hdel', KEYS[1], ARGV[1])
end
return 0
"""


def _record(name: str, value: str, holder: str | None) -> str:
    """The registry entry of a lock: its name, holder task, owner value and time taken."""
    return json.dumps({"name": name, "holder": holder, "owner": value, "since": time.time()})


def _forget_if_gone(client: Any, registry: Any, field: Any) -> None:
    client.eval(_FORGET_SCRIPT, 1, registry, field)


def _decode_record(raw: Any) -> dict[str, Any]:
    try:
        record = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _since(value: Any) -> dt.datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    return None
