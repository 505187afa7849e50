"""``@prevent_duplicate_task``: run a task's body only while holding its lock.

The lock name is the decorator's ``lock_name``, or, with ``lock_param``, that name scoped to
the value the call passes for that parameter, found by binding the call to the function's
signature: positional or keyword, defaults applied, and ``self`` of a ``bind=True`` Celery
task is just the first parameter. The value enters the name only as a hash of its canonical,
type-tagged encoding (:func:`lock_name_for_value`). Put the decorator beneath
``@shared_task``/``@app.task``.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import inspect
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ParamSpec, TypedDict, TypeVar

from django.dispatch import Signal

from agentcore_task import conf
from agentcore_task.locks.api import check_backend_name, get_backend, log_backend_failure
from agentcore_task.locks.base import (
    LockBackend,
    LockBackendError,
    check_lock_name,
    check_timeout,
    current_task_id,
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


class SkippedResult(TypedDict):
    """What a decorated call returns instead of running its body."""

    success: bool
    status: str
    reason: str  # "task_already_running" or "lock_unavailable"
    error: str


def lock_name_for_value(lock_name: str, lock_param: str, value: Any) -> str:
    """Return the lock name of one parameter value: ``"<lock_name>:<lock_param>=sha256:<hex>"``.

    The value is always hashed (32 hex digits of SHA-256), so a parameter that carries an
    e-mail address or a token never reaches the cache key, the logs or the skipped result.
    What is hashed is a canonical encoding tagged with the value's type: values of different
    types never share a lock (``7``, ``"7"``, ``7.0``, ``Decimal("7")``, ``True``; a tuple
    and the equal list; a UUID and its string), equal values of one type always do
    (``Decimal("1.0")`` and ``Decimal("1.00")``; a dict in any key order; a set or frozenset
    in any iteration order, in every process).

    Raises:
        TypeError: a value with no stable encoding: an object without its own ``__str__``
            (its default text holds a memory address, different in every process), a
            circular or too deeply nested container.
    """
    try:
        text = _canonical(value)
    except RecursionError:
        raise TypeError(
            f"lock_param {lock_param!r}: the value is circular or nested too deeply to name a lock"
        ) from None
    except _NoCanonicalForm as error:
        raise TypeError(
            f"lock_param {lock_param!r}: a {error.args[0]} value has no stable lock name "
            "(its text differs between processes); pass a str, number, UUID, date, or a "
            "tuple, list, dict or set of those, e.g. the object's id"
        ) from None
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{lock_name}:{lock_param}=sha256:{digest[:32]}"


class _NoCanonicalForm(Exception):
    """Raised inside :func:`_canonical` with the offending type's name."""


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _canonical(value: Any) -> str:
    """Encode ``value`` as text that only equal values of the same type share."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, enum.Enum):
        return f"enum:{_type_name(value)}:{_canonical(value.value)}"
    if isinstance(value, int):
        return f"int:{int(value)}"
    if isinstance(value, float):
        return f"float:{float(value)!r}"
    if isinstance(value, str):
        return "str:" + json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, Decimal):
        return f"decimal:{value.normalize() if value.is_finite() else value}"
    if isinstance(value, uuid.UUID):
        return f"uuid:{value}"
    if isinstance(value, dt.datetime):
        return f"datetime:{value.isoformat()}"
    if isinstance(value, dt.date):
        return f"date:{value.isoformat()}"
    if isinstance(value, dt.time):
        return f"time:{value.isoformat()}"
    if isinstance(value, dt.timedelta):
        return f"timedelta:{value.days}:{value.seconds}:{value.microseconds}"
    if isinstance(value, bytes | bytearray):
        return f"bytes:{bytes(value).hex()}"
    if isinstance(value, tuple):
        return "tuple:[" + ",".join(_canonical(item) for item in value) + "]"
    if isinstance(value, list):
        return "list:[" + ",".join(_canonical(item) for item in value) + "]"
    if isinstance(value, set | frozenset):
        # Sorted by encoding: any mix of types orders the same way in every process.
        return "set:[" + ",".join(sorted(_canonical(item) for item in value)) + "]"
    if isinstance(value, Mapping):
        pairs = sorted(f"{_canonical(k)}:{_canonical(v)}" for k, v in value.items())
        return "dict:{" + ",".join(pairs) + "}"
    if type(value).__str__ is not object.__str__ or type(value).__repr__ is not object.__repr__:
        return f"object:{_type_name(value)}:{value}"
    raise _NoCanonicalForm(_type_name(value))


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
            "agentcore_task lock lost while running; another run may have started: %r "
            "(%s backend) was no longer held when the task finished (it expired, the timeout "
            "being shorter than the run, was force-released, or its session was lost)",
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
                acquired = implementation.acquire(name, timeout, owner, current_task_id())
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
