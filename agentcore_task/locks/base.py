"""What every lock backend shares: the interface, owner tokens, argument checks, the error.

A backend answers four questions about a named lock (take it, give it back as its owner,
take it away from whoever holds it, is it held) and raises :class:`LockBackendError` when it
cannot answer because its server is unreachable. Callers' mistakes are checked here, before
any backend is asked, so they raise whatever the servers' state.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import threading
from typing import Protocol, TypedDict

from celery import current_task

from agentcore_task.exceptions import LockBackendError
from agentcore_task.validation import checked_int

__all__ = [
    "HeldLock",
    "LockBackend",
    "LockBackendError",
    "check_lock_name",
    "check_timeout",
    "current_task_id",
    "owner_token",
]


class HeldLock(TypedDict):
    """A lock held now, as the listing of held locks shows it."""

    name: str
    backend: str
    holder: str | None
    """Celery task id of the task that took it (a task run through the decorator, or any
    acquire made inside a task); None when taken outside a task."""
    owner: str
    """The owner token: host, pid and thread of the taker."""
    since: dt.datetime | None
    ttl: float | None
    """Seconds until a cache lock expires; None for advisory locks, which do not."""
    pid: int | None
    """PostgreSQL backend pid of an advisory lock's session; None for cache locks."""


class LockBackend(Protocol):
    """One way of keeping named locks; each method raises LockBackendError on failure."""

    name: str

    def acquire(self, lock_name: str, timeout: int, owner: str, holder: str | None = None) -> bool:
        """Take the lock for ``owner`` (on behalf of the task ``holder``) if nobody holds it."""
        ...

    def release(self, lock_name: str, owner: str) -> bool:
        """Release the lock if ``owner`` holds it; True when it did."""
        ...

    def force_release(self, lock_name: str) -> str | None:
        """Release the lock whoever holds it; say what was done, or None if it was free."""
        ...

    def is_locked(self, lock_name: str) -> bool:
        """Tell whether anybody holds the lock right now."""
        ...

    def is_held(self, lock_name: str, owner: str) -> bool:
        """Tell whether ``owner`` holds the lock right now (checked with the server)."""
        ...

    def held_locks(self) -> list[HeldLock]:
        """List the locks held now, by name (see each backend for what it can see)."""
        ...


_HOSTNAME = socket.gethostname()
_thread_state = threading.local()


def owner_token() -> str:
    """Return the calling thread's owner token, unique across hosts, processes and threads.

    The token names the host, pid and thread for whoever reads a lock's value, and ends with
    a random part made once per thread: thread ids are reused after a thread ends, and pids
    after a process ends, so they alone would let a newcomer release a dead owner's lock. A
    forked child sees its parent's thread-local values, hence the pid check.
    """
    pid = os.getpid()
    if getattr(_thread_state, "pid", None) != pid:
        _thread_state.pid = pid
        _thread_state.token = f"{_HOSTNAME}:{pid}:{threading.get_ident()}:{secrets.token_hex(8)}"
    token: str = _thread_state.token
    return token


def current_task_id() -> str | None:
    """Return the id of the Celery task running in this thread, if any: a lock's holder."""
    task_id = getattr(getattr(current_task, "request", None), "id", None) if current_task else None
    return task_id if isinstance(task_id, str) else None


def check_lock_name(lock_name: object) -> str:
    """Return ``lock_name`` if it is a non-empty string.

    Raises:
        TypeError: not a string.
        ValueError: an empty string.
    """
    if not isinstance(lock_name, str):
        raise TypeError(f"lock_name must be a str, got {type(lock_name).__name__}")
    if not lock_name:
        raise ValueError("lock_name must not be empty")
    return lock_name


def check_timeout(timeout: object) -> int:
    """Return ``timeout`` if it is a positive int (seconds).

    Raises:
        TypeError: not an int (a bool is not accepted either).
        ValueError: zero or negative.
    """
    return checked_int("timeout", timeout)
