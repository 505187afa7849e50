"""A Redis that stalls (SIGSTOP) during an acquire must not leave a lock nobody owns.

The client times out, Redis resumes and executes the buffered ``SET NX PX``: without the undo
every later run would be skipped as ``task_already_running`` for the whole TTL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from agentcore_task.locks import acquire_task_lock, is_task_locked, release_task_lock
from agentcore_task.locks.cache import cache_key
from devservers import EmbeddedRedis
from tests.lock_workers import unique_name

SOCKET_TIMEOUT = 1.0


@pytest.fixture
def stallable_redis() -> Iterator[EmbeddedRedis]:
    """A redis-server of this test's own on a free port (never the shared one), as ``locks``."""
    server = EmbeddedRedis()
    server.start()
    caches_setting = {
        **settings.CACHES,
        "locks": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": "agentcore-task-stall-tests",
            "OPTIONS": {
                "socket_timeout": SOCKET_TIMEOUT,
                "socket_connect_timeout": SOCKET_TIMEOUT,
            },
        },
    }
    try:
        with override_settings(CACHES=caches_setting, AGENTCORE_TASK_LOCK_CACHE="locks"):
            yield server
    finally:
        pid = server._proc.pid if server._proc is not None else None
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        server.stop()


def _pid(server: EmbeddedRedis) -> int:
    assert server._proc is not None
    return server._proc.pid


def _stored(server: EmbeddedRedis, lock_name: str) -> bytes | None:
    """Read the lock's key with a client of its own, as an operator would."""
    key = caches["locks"].make_key(cache_key(lock_name))
    return redis.Redis.from_url(server.url, socket_timeout=5).get(key)


def _acquire_while_stalled(server: EmbeddedRedis, name: str, resume_after: float) -> bool:
    """Freeze Redis, acquire, resume Redis ``resume_after`` seconds into the call."""
    # Warm the connection pool, so the acquire is written to an open socket and buffered
    # there, and the server's script cache: a first acquire on a fresh server would be an
    # EVALSHA that Redis answers NOSCRIPT when it resumes, so it would never take the key.
    warm = unique_name()
    assert acquire_task_lock(warm, 60, backend="cache")
    assert release_task_lock(warm, backend="cache")
    os.kill(_pid(server), signal.SIGSTOP)
    threading.Timer(resume_after, os.kill, (_pid(server), signal.SIGCONT)).start()
    started = time.monotonic()
    taken = acquire_task_lock(name, 3600, backend="cache")
    assert time.monotonic() - started >= SOCKET_TIMEOUT * 0.9, "Redis did not stall the call"
    return taken


def _wait_until_running(server: EmbeddedRedis) -> None:
    client = redis.Redis.from_url(server.url, socket_timeout=5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.ping()
            return
        except redis.RedisError:
            time.sleep(0.05)
    raise AssertionError("Redis did not come back")


def test_the_next_call_deletes_the_key_a_timed_out_acquire_left(stallable_redis):
    name = unique_name()
    # Resumed after the acquire and its immediate undo have both timed out.
    assert _acquire_while_stalled(stallable_redis, name, SOCKET_TIMEOUT * 2 + 0.8) is False
    _wait_until_running(stallable_redis)
    time.sleep(0.2)
    assert _stored(stallable_redis, name) is not None, "Redis executed the buffered SET"

    assert acquire_task_lock(name, 3600, backend="cache"), "the stale key blocked the next run"
    assert release_task_lock(name, backend="cache")
    assert _stored(stallable_redis, name) is None


def test_the_next_call_on_another_lock_cleans_up_too(stallable_redis):
    name = unique_name()
    assert _acquire_while_stalled(stallable_redis, name, SOCKET_TIMEOUT * 2 + 0.8) is False
    _wait_until_running(stallable_redis)
    time.sleep(0.2)

    other = unique_name()
    assert acquire_task_lock(other, 60, backend="cache")
    assert _stored(stallable_redis, name) is None, "the stale key outlived the next call"
    assert not is_task_locked(name, backend="cache")
    assert release_task_lock(other, backend="cache")


def test_a_stall_shorter_than_the_undo_is_undone_at_once(stallable_redis):
    name = unique_name()
    # Resumed while the immediate undo is waiting for its answer.
    assert _acquire_while_stalled(stallable_redis, name, SOCKET_TIMEOUT + 0.4) is False
    assert _stored(stallable_redis, name) is None, "the failed acquire's key was not undone"


def test_the_undo_never_deletes_a_lock_someone_else_took(stallable_redis):
    name = unique_name()
    assert _acquire_while_stalled(stallable_redis, name, SOCKET_TIMEOUT * 2 + 0.8) is False
    _wait_until_running(stallable_redis)
    time.sleep(0.2)
    key = caches["locks"].make_key(cache_key(name))
    direct = redis.Redis.from_url(stallable_redis.url, socket_timeout=5)
    direct.set(key, "another-process:1:1:abc#def", px=60_000)  # someone else took it since

    assert acquire_task_lock(name, 60, backend="cache") is False
    assert direct.get(key) == b"another-process:1:1:abc#def"
    assert release_task_lock(name, backend="cache") is False
