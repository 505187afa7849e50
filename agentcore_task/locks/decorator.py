"""``@prevent_duplicate_task``: run a task's body only while holding its lock.

The lock name is the decorator's ``lock_name``, or, with ``lock_param``, that name scoped to
the value the call passes for that parameter, found by binding the call to the function's
signature: positional or keyword, defaults applied, and ``self`` of a ``bind=True`` Celery
task is just the first parameter. Put the decorator beneath ``@shared_task``/``@app.task``.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypedDict, TypeVar

from django.dispatch import Signal

from agentcore_task import conf
from agentcore_task.locks.api import check_backend_name, get_backend, log_backend_failure
from agentcore_task.locks.base import (
    LockBackend,
    LockBackendError,
    check_lock_name,
    check_timeout,
    owner_token,
)

__all__ = ["SkippedResult", "lock_name_for_value", "prevent_duplicate_task", "task_skipped"]

logger = logging.getLogger("agentcore_task.locks")

P = ParamSpec("P")
R = TypeVar("R")

task_skipped = Signal()
"""Sent when a decorated call is skipped, before it returns its :class:`SkippedResult`.

Keyword arguments: ``lock_name`` (the resolved name), ``reason`` (the result's ``reason``)
and ``message`` (its ``error``). Automatic tracking listens, so that the skipped run's row
says REVOKED rather than the success its return value would otherwise be recorded as.
"""

MAX_VALUE_CHARS = 64
"""Longer encoded parameter values are replaced by a hash in the lock name."""


class SkippedResult(TypedDict):
    """What a decorated call returns instead of running its body."""

    success: bool
    status: str
    reason: str  # "task_already_running" or "lock_unavailable"
    error: str


def lock_name_for_value(lock_name: str, lock_param: str, value: Any) -> str:
    """Return the lock name of one parameter value: ``"<lock_name>:<lock_param>=<value>"``.

    The value is written as JSON (``7``, ``"abc"``, ``false``, ``null``), so values of
    different types never share a lock, falsy ones included; objects JSON cannot write use
    ``str()``. An encoding longer than :data:`MAX_VALUE_CHARS` becomes
    ``sha256:<32 hex digits>`` of it.
    """
    try:
        text = json.dumps(
            value, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":")
        )
    except (TypeError, ValueError):  # mixed-type dict keys, circular structures
        text = repr(value)
    if len(text) > MAX_VALUE_CHARS:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        text = f"sha256:{digest[:32]}"
    return f"{lock_name}:{lock_param}={text}"


def _skipped(func: Callable[..., Any], name: str, reason: str, error: str) -> SkippedResult:
    task_skipped.send(sender=func, lock_name=name, reason=reason, message=error)
    return {"success": False, "status": "skipped", "reason": reason, "error": error}


def _name_resolver(
    func: Callable[..., Any], lock_name: str, lock_param: str | None
) -> Callable[[tuple[Any, ...], dict[str, Any]], str | None]:
    """Check ``lock_param`` against ``func``'s signature; return the lock name of a call.

    The resolver returns None when the call does not fit the signature.

    Raises:
        TypeError: ``lock_param`` is not a string.
        ValueError: ``func`` has no such parameter and no ``**kwargs`` to receive it.
    """
    if lock_param is None:
        return lambda args, kwargs: lock_name
    if not isinstance(lock_param, str):
        raise TypeError(f"lock_param must be a parameter name, got {lock_param!r}")
    signature = inspect.signature(func)
    parameter = signature.parameters.get(lock_param)
    kinds = {p.kind: p.name for p in signature.parameters.values()}
    var_keyword = kinds.get(inspect.Parameter.VAR_KEYWORD)
    if parameter is not None and parameter.kind in (
        inspect.Parameter.VAR_POSITIONAL,
        inspect.Parameter.VAR_KEYWORD,
    ):
        raise ValueError(f"lock_param {lock_param!r} names the *args or **kwargs of {func!r}")
    if parameter is None and var_keyword is None:
        raise ValueError(f"lock_param {lock_param!r} is not a parameter of {func!r}{signature}")

    def resolve(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return None
        bound.apply_defaults()
        if parameter is not None:
            return lock_name_for_value(lock_name, lock_param, bound.arguments[lock_param])
        extra = bound.arguments[var_keyword] if var_keyword else {}
        if lock_param in extra:
            return lock_name_for_value(lock_name, lock_param, extra[lock_param])
        return f"{lock_name}:{lock_param}"

    return resolve


def _release_after_run(implementation: LockBackend, lock_name: str, owner: str) -> None:
    """Release the lock after the body ran; a failure is logged, never raised over it."""
    try:
        released = implementation.release(lock_name, owner)
    except LockBackendError as exc:
        log_backend_failure("release", lock_name, implementation, exc)
        return
    if not released:
        logger.warning(
            "agentcore_task lock %r (%s backend) was no longer held when the task finished: "
            "it expired (timeout shorter than the run?), was force-released or its session "
            "was lost, so another run may have started meanwhile",
            lock_name,
            implementation.name,
        )


def prevent_duplicate_task(
    lock_name: str,
    timeout: int = 3600,
    lock_param: str | None = None,
    *,
    backend: str | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R | SkippedResult]]:
    """Decorate a task so that only one call (per ``lock_param`` value) runs its body at once.

    A call that finds the lock held returns :class:`SkippedResult` with reason
    ``"task_already_running"`` without running the body. When the backend itself is
    unreachable, ``AGENTCORE_TASK_LOCK_FAIL_OPEN`` decides: False (default) skips with
    reason ``"lock_unavailable"`` and logs an ERROR; True runs the body unlocked and logs a
    WARNING. The lock is released when the body returns or raises.

    Args:
        lock_name: the lock's name, or its prefix with ``lock_param``.
        timeout: as for ``acquire_task_lock`` (the cache backend's TTL).
        lock_param: a parameter of the function (or a key its ``**kwargs`` receives) whose
            value scopes the lock: see :func:`lock_name_for_value`. A ``**kwargs`` call
            without that key locks ``"<lock_name>:<lock_param>"``.
        backend: ``"cache"``, ``"advisory"`` or None for ``AGENTCORE_TASK_LOCK_BACKEND``.

    Raises:
        TypeError, ValueError: a bad argument, or a ``lock_param`` the function does not take.
    """
    check_lock_name(lock_name)
    check_timeout(timeout)
    check_backend_name(backend)

    def decorate(func: Callable[P, R]) -> Callable[P, R | SkippedResult]:
        resolve_name = _name_resolver(func, lock_name, lock_param)
        label = getattr(func, "__qualname__", repr(func))

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | SkippedResult:
            name = resolve_name(args, kwargs)
            if name is None:  # let Python raise its own TypeError for the bad call
                return func(*args, **kwargs)
            implementation = get_backend(backend)
            owner = owner_token()
            try:
                acquired = implementation.acquire(name, timeout, owner)
            except LockBackendError as exc:
                if conf.lock_fail_open():
                    logger.warning(
                        "agentcore_task ran %s without its lock %r: %s backend unavailable "
                        "(%s); AGENTCORE_TASK_LOCK_FAIL_OPEN is True",
                        label,
                        name,
                        implementation.name,
                        exc,
                    )
                    return func(*args, **kwargs)
                log_backend_failure("acquire", name, implementation, exc)
                return _skipped(
                    func,
                    name,
                    "lock_unavailable",
                    f"{label} was not run: the {implementation.name} lock backend "
                    f"is unavailable ({exc}) and AGENTCORE_TASK_LOCK_FAIL_OPEN is False",
                )
            if not acquired:
                logger.info("agentcore_task skipped %s: lock %r is held", label, name)
                return _skipped(
                    func,
                    name,
                    "task_already_running",
                    f"{label} was not run: another run holds the lock {name!r}",
                )
            try:
                return func(*args, **kwargs)
            finally:
                _release_after_run(implementation, name, owner)

        return wrapper

    return decorate
