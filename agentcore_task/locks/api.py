"""The lock functions callers use: acquire, release (owner-only or forced), ask.

Each checks its arguments, picks the backend (``AGENTCORE_TASK_LOCK_BACKEND`` unless the call
names one) and asks it on behalf of the calling thread's owner token. When the backend's
server cannot answer, the function logs one ERROR line and returns False: no lock is ever
reported taken or released that was not.
"""

from __future__ import annotations

import logging
from typing import TypedDict

from agentcore_task import conf
from agentcore_task.locks.advisory import AdvisoryLockBackend
from agentcore_task.locks.base import (
    HeldLock,
    LockBackend,
    LockBackendError,
    check_lock_name,
    check_timeout,
    current_task_id,
    owner_token,
)
from agentcore_task.locks.cache import CacheLockBackend

__all__ = [
    "BACKEND_NAMES",
    "LockListing",
    "acquire_task_lock",
    "check_backend_name",
    "force_release_lock",
    "get_backend",
    "is_task_locked",
    "list_held_locks",
    "lock_is_held",
    "log_backend_failure",
    "release_task_lock",
]

logger = logging.getLogger("agentcore_task.locks")

_BACKENDS: dict[str, LockBackend] = {
    "cache": CacheLockBackend(),
    "advisory": AdvisoryLockBackend(),
}


BACKEND_NAMES = tuple(_BACKENDS)


class LockListing(TypedDict):
    """What :func:`list_held_locks` found: the locks, and the backends it could not ask."""

    locks: list[HeldLock]
    unavailable: dict[str, str]
    """Backend name -> why it could not be listed (unreachable, or a cache that cannot
    enumerate keys)."""


def list_held_locks(backend: str | None = None) -> LockListing:
    """List the locks held now, on both backends (or the one named), oldest first.

    A backend that cannot answer is named in ``unavailable`` with the reason, never raised:
    an operator looking for a stuck lock still sees the other backend's.

    Raises:
        ValueError: an unknown backend name.
    """
    names = [check_backend_name(backend)] if backend is not None else list(_BACKENDS)
    listing: LockListing = {"locks": [], "unavailable": {}}
    for name in names:
        assert name is not None
        try:
            listing["locks"].extend(_BACKENDS[name].held_locks())
        except LockBackendError as exc:
            listing["unavailable"][name] = str(exc)
    return listing


def force_release_lock(lock_name: str, *, backend: str | None = None) -> tuple[str, str] | None:
    """Release ``lock_name`` whoever holds it: the operator's escape hatch.

    Without ``backend`` the cache backend is tried first, then the advisory one (a name
    may be held on either). Logged at WARNING when something was released.

    Returns:
        ``(backend name, what was done)``, or None when no backend held it.

    Raises:
        TypeError, ValueError: a bad argument.
        LockBackendError: the backend that was asked could not answer.
    """
    check_lock_name(lock_name)
    names = [check_backend_name(backend)] if backend is not None else list(_BACKENDS)
    for name in names:
        assert name is not None
        implementation = _BACKENDS[name]
        done = implementation.force_release(lock_name)
        if done is not None:
            logger.warning(
                "agentcore_task force-released lock %r (%s backend): %s", lock_name, name, done
            )
            return name, done
    return None


def check_backend_name(backend: object) -> str | None:
    """Return ``backend`` if it is None or a known backend name.

    Raises:
        ValueError: an unknown name.
    """
    if backend is not None and backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(_BACKENDS)} or None, not {backend!r}")
    return backend


def get_backend(backend: str | None) -> LockBackend:
    """Return the named backend, or the configured one for None."""
    return _BACKENDS[check_backend_name(backend) or conf.lock_backend()]


def log_backend_failure(action: str, lock_name: str, backend: LockBackend, exc: Exception) -> None:
    """Log a backend failure as one ERROR line (the traceback goes to DEBUG)."""
    logger.error(
        "agentcore_task could not %s lock %r (%s backend): %s",
        action,
        lock_name,
        backend.name,
        exc,
    )
    logger.debug("agentcore_task lock %s failure", action, exc_info=exc)


def acquire_task_lock(lock_name: str, timeout: int = 3600, *, backend: str | None = None) -> bool:
    """Take the lock ``lock_name`` for the calling thread, so that only one run proceeds.

    Locks are not re-entrant: a second acquire by the holder returns False too.

    Args:
        lock_name: any non-empty string.
        timeout: seconds after which the cache backend lets the lock expire (its TTL). The
            advisory backend ignores it: its lock lasts until released or until the holder's
            database session ends (at the latest when the holder process dies).
        backend: ``"cache"`` or ``"advisory"``; None uses ``AGENTCORE_TASK_LOCK_BACKEND``.

    Returns:
        True when the lock was taken; False when somebody holds it or the backend is down.

    Raises:
        TypeError, ValueError: a bad argument.
    """
    check_lock_name(lock_name)
    check_timeout(timeout)
    implementation = get_backend(backend)
    try:
        return implementation.acquire(lock_name, timeout, owner_token(), current_task_id())
    except LockBackendError as exc:
        log_backend_failure("acquire", lock_name, implementation, exc)
        return False


def release_task_lock(lock_name: str, *, force: bool = False, backend: str | None = None) -> bool:
    """Release the lock ``lock_name`` if the calling thread holds it.

    Args:
        lock_name: the name given to :func:`acquire_task_lock`.
        force: release it whoever holds it, the operator's escape hatch (logged at
            WARNING). With the advisory backend a lock held by another process is freed by
            terminating that process's lock session with ``pg_terminate_backend``, which
            frees every advisory lock it holds and needs the privilege to do so.
        backend: as for :func:`acquire_task_lock`.

    Returns:
        True when a lock was released; False when the caller does not hold it (it is left
        alone), nobody holds it, or the backend is down.

    Raises:
        TypeError, ValueError: a bad argument.
    """
    check_lock_name(lock_name)
    implementation = get_backend(backend)
    try:
        if implementation.release(lock_name, owner_token()):
            return True
        if not force:
            return False
        done = implementation.force_release(lock_name)
    except LockBackendError as exc:
        log_backend_failure("release", lock_name, implementation, exc)
        return False
    if done is None:
        return False
    logger.warning(
        "agentcore_task force-released lock %r (%s backend): %s",
        lock_name,
        implementation.name,
        done,
    )
    return True


def is_task_locked(lock_name: str, *, backend: str | None = None) -> bool:
    """Tell whether anybody, in any process, holds the lock ``lock_name`` right now.

    Returns:
        True when it is held; False when it is free or the backend is down (logged).

    Raises:
        TypeError, ValueError: a bad argument.
    """
    check_lock_name(lock_name)
    implementation = get_backend(backend)
    try:
        return implementation.is_locked(lock_name)
    except LockBackendError as exc:
        log_backend_failure("check", lock_name, implementation, exc)
        return False


def lock_is_held(lock_name: str, *, backend: str | None = None) -> bool:
    """Tell whether the calling thread still holds the lock ``lock_name`` ("held by me").

    Unlike :func:`is_task_locked` (held by anybody), this asks the server whether the lock
    is still this thread's: False once a cache lock expired or was force-released, or once
    the advisory lock's session was lost (terminated, server restarted, failover), after which
    another run may hold it. A long task can call it between steps and stop early: locks
    give no fencing, nothing stops a body that goes on after losing its lock.

    Returns:
        True when the calling thread holds it; False otherwise or when the backend is down
        (logged).

    Raises:
        TypeError, ValueError: a bad argument.
    """
    check_lock_name(lock_name)
    implementation = get_backend(backend)
    try:
        return implementation.is_held(lock_name, owner_token())
    except LockBackendError as exc:
        log_backend_failure("check", lock_name, implementation, exc)
        return False
