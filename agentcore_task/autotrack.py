"""Automatic tracking: Celery signals keep one row per execution, no code in the task.

Opt in with ``AGENTCORE_TASK_AUTO_TRACK`` (True, or task-name patterns), read when each signal
fires so ``override_settings`` works. Where each step is recorded:

=========================  =========  ===================================================
signal                     process    row
=========================  =========  ===================================================
``before_task_publish``    publisher  (adds the user id header ``agentcore_user_id``)
``after_task_publish``     publisher  registered PENDING with args, kwargs and the user
``task_prerun``            worker     STARTED; created if the worker got there first
``task_success``           worker     SUCCESS with the result
``task_failure``           worker     FAILURE with error and traceback
``task_retry``             worker     RETRY, ``retries`` and ``retry_reason`` in metadata
``task_revoked``           worker     REVOKED, the reason in ``error``
``task_postrun``           worker     progress held by PROGRESS_MIN_INTERVAL written
=========================  =========  ===================================================

A tracked task's ``self.update_state(state="PROGRESS", meta={"current", "total",
"description"})`` (what celery-progress's ``ProgressRecorder`` sends) is recorded too:
``task_prerun`` wraps the task's ``update_state`` once, and each PROGRESS call becomes an
``update_progress`` (``progress_percent`` from current/total, ``progress_message`` from the
description, ``progress_current`` / ``progress_total``) before Celery's own state is stored.

The row is registered after the message is sent, so a publish that fails leaves no orphan
row; the worker's start is an upsert, so it does not matter which process writes first.
Eager tasks (``task_always_eager``, ``.apply()``) publish nothing: their start creates the row.

Every handler is a side record under the failure policy: a database that is down costs one
ERROR line per write and never breaks ``.delay()`` or the task. Celery's own tasks
(``celery.*``) and this library's periodic tasks (``agentcore_task.*``, which record
themselves) are never tracked.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from celery import current_app, current_task, signals

from agentcore_task import conf
from agentcore_task.locks.decorator import task_skipped
from agentcore_task.services.registration import register_task_execution
from agentcore_task.services.running_task import (
    USER_HEADER,
    module_for,
    publisher_user_id,
    record_start,
    running_task_for,
)
from agentcore_task.services.writes import (
    flush_progress,
    mark_skipped,
    update_progress,
    update_task_status,
)
from agentcore_task.status import TaskStatus
from agentcore_task.tracking import current_tracking_user_id

logger = logging.getLogger("agentcore_task")

NEVER_TRACKED_PREFIXES = ("agentcore_task.", "celery.")

F = TypeVar("F", bound=Callable[..., None])


def is_tracked(task_name: object) -> bool:
    """Return whether ``AGENTCORE_TASK_AUTO_TRACK`` asks for the task called ``task_name``."""
    if not isinstance(task_name, str) or task_name.startswith(NEVER_TRACKED_PREFIXES):
        return False
    setting = conf.auto_track()
    if isinstance(setting, bool):
        return setting
    return any(fnmatchcase(task_name, pattern) for pattern in setting)


def _never_raises(handler: F) -> F:
    """Keep a handler's unexpected error (a bad value, say) out of publishing and the task.

    Database failures are already handled by the failure policy; this catches the rest, in
    one log line, because Celery would otherwise log a full traceback per signal.
    """

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            handler(*args, **kwargs)
        except Exception as exc:
            logger.error(
                "agentcore_task auto-tracking failed in %s: %s: %s",
                handler.__name__,
                type(exc).__name__,
                exc,
            )

    return run  # type: ignore[return-value]


def _user_id_from(request: object) -> int | None:
    user_id = publisher_user_id(request)
    if user_id is None and getattr(request, "is_eager", False):
        return current_tracking_user_id()  # same process, same context: no header needed
    return user_id


def _publisher_user_id() -> int | None:
    """The user publishing now: the ``tracking_user`` block, else the running task's user,
    so that tasks started by a tracked task are credited to the same person."""
    user_id = current_tracking_user_id()
    if user_id is None and current_task:
        user_id = _user_id_from(current_task.request)
    return user_id


@_never_raises
def on_before_publish(sender: str | None = None, headers: Any = None, **_: Any) -> None:
    """Put the publishing user's id into the message headers, for the worker's side."""
    if not isinstance(headers, dict) or not is_tracked(sender):
        return
    user_id = _publisher_user_id()
    if user_id is not None:
        headers[USER_HEADER] = user_id


@_never_raises
def on_after_publish(
    sender: str | None = None,
    headers: Any = None,
    body: Any = None,
    routing_key: Any = None,
    **_: Any,
) -> None:
    """Register the published task as PENDING with its arguments and user."""
    if not isinstance(headers, dict) or not is_tracked(sender) or headers.get("retries"):
        return  # a retry is re-published by the worker: the row already exists
    assert isinstance(sender, str)
    args, kwargs = (body[0], body[1]) if isinstance(body, list | tuple) else ((), {})
    register_task_execution(
        task_id=headers["id"],
        task_name=sender,
        module=module_for(sender, current_app.tasks.get(sender)),
        task_args=list(args or ()),
        task_kwargs=dict(kwargs or {}),
        created_by=headers.get(USER_HEADER),
        queue=routing_key if isinstance(routing_key, str) and routing_key else None,
    )


@_never_raises
def on_prerun(
    sender: Any = None, task_id: str | None = None, args: Any = None, kwargs: Any = None, **_: Any
) -> None:
    """Mark the execution STARTED, creating the row if the publisher has not yet."""
    name = getattr(sender, "name", None)
    if not task_id or not is_tracked(name):
        return
    _record_update_state(sender)
    record_start(sender, task_id, args, kwargs, _user_id_from(sender.request))


CELERY_PROGRESS_STATE = "PROGRESS"
_WRAPPED = "_agentcore_task_update_state"


def _record_update_state(task: Any) -> None:
    """Wrap ``task.update_state`` (once per task object) so PROGRESS calls reach the row."""
    if getattr(task, _WRAPPED, False):
        return
    original = task.update_state

    @functools.wraps(original)
    def update_state(
        task_id: str | None = None, state: str | None = None, meta: Any = None, **kwargs: Any
    ) -> Any:
        target = task_id or getattr(task.request, "id", None)
        if target and state == CELERY_PROGRESS_STATE and is_tracked(task.name):
            record_celery_progress(target, meta)
        return original(task_id=task_id, state=state, meta=meta, **kwargs)

    task.update_state = update_state
    setattr(task, _WRAPPED, True)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@_never_raises
def record_celery_progress(task_id: str, meta: Any) -> None:
    """Record a PROGRESS state's ``current`` / ``total`` / ``description`` as progress keys."""
    if not isinstance(meta, Mapping):
        return
    current, total = _number(meta.get("current")), _number(meta.get("total"))
    description = meta.get("description")
    extra: dict[str, Any] = {}
    percent = None
    if current is not None and total is not None:
        extra = {"progress_current": meta["current"], "progress_total": meta["total"]}
        if total > 0:
            percent = max(0, min(100, round(current * 100 / total)))
    message = description if isinstance(description, str) and description else None
    if percent is None and message is None and not extra:
        return
    update_progress(task_id, percent=percent, message=message, **extra)


@_never_raises
def on_postrun(sender: Any = None, task_id: str | None = None, **_: Any) -> None:
    """Write the progress PROGRESS_MIN_INTERVAL still holds for the task that just ended."""
    if task_id:
        flush_progress(task_id)


@_never_raises
def on_success(sender: Any = None, result: Any = None, **_: Any) -> None:
    """Mark the execution SUCCESS with the task's return value."""
    task_id = getattr(getattr(sender, "request", None), "id", None)
    if task_id and is_tracked(getattr(sender, "name", None)):
        update_task_status(task_id, TaskStatus.SUCCESS, result=result)


@_never_raises
def on_failure(
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    einfo: Any = None,
    **_: Any,
) -> None:
    """Mark the execution FAILURE with the exception and its traceback."""
    if task_id and is_tracked(getattr(sender, "name", None)):
        traceback = getattr(einfo, "traceback", None)
        update_task_status(
            task_id,
            TaskStatus.FAILURE,
            error=exception,
            traceback=traceback if isinstance(traceback, str) else None,
        )


@_never_raises
def on_retry(sender: Any = None, request: Any = None, reason: Any = None, **_: Any) -> None:
    """Mark the execution RETRY; the attempt number and the reason go into metadata."""
    task_id = getattr(request, "id", None)
    if task_id and is_tracked(getattr(sender, "name", None)):
        retries = getattr(request, "retries", 0)
        update_task_status(
            task_id,
            TaskStatus.RETRY,
            metadata={
                "retries": (retries if isinstance(retries, int) else 0) + 1,
                "retry_reason": str(reason),
            },
        )


@_never_raises
def on_revoked(
    sender: Any = None,
    request: Any = None,
    terminated: bool = False,
    signum: Any = None,
    expired: bool = False,
    **_: Any,
) -> None:
    """Mark the execution REVOKED, saying whether it expired, was terminated or revoked."""
    task_id = getattr(request, "id", None)
    name = getattr(sender, "name", None) or getattr(request, "task_name", None)
    if task_id and is_tracked(name):
        if expired:
            reason = "expired before it ran"
        elif terminated:
            reason = f"terminated (signal {signum})"
        else:
            reason = "revoked"
        update_task_status(task_id, TaskStatus.REVOKED, error=f"Revoked: {reason}")


@_never_raises
def on_lock_skipped(reason: str | None = None, message: str | None = None, **_: Any) -> None:
    """Record a run that ``@prevent_duplicate_task`` skipped as REVOKED, with the reason.

    Its return value (the skipped dict) would otherwise be recorded as a SUCCESS by
    :func:`on_success`; the REVOKED written first wins (a finished row keeps its status).
    A task tracked automatically gets its row created if need be; a task recorded by hand
    has only its existing row marked, so untracked tasks never gain rows here.
    """
    task = current_task
    task_id = getattr(getattr(task, "request", None), "id", None)
    if not task or not isinstance(task_id, str) or running_task_for(task_id) is None:
        return
    mark_skipped(task_id, reason=str(reason), message=message, create=is_tracked(task.name))


_HANDLERS: tuple[tuple[Any, Callable[..., None]], ...] = (
    (signals.before_task_publish, on_before_publish),
    (signals.after_task_publish, on_after_publish),
    (signals.task_prerun, on_prerun),
    (signals.task_success, on_success),
    (signals.task_failure, on_failure),
    (signals.task_retry, on_retry),
    (signals.task_revoked, on_revoked),
    (signals.task_postrun, on_postrun),
    (task_skipped, on_lock_skipped),
)


def connect_signals() -> None:
    """Connect the handlers (once: a ``dispatch_uid`` per handler makes repeats harmless).

    They are always connected and check ``AGENTCORE_TASK_AUTO_TRACK`` when they fire, so the
    setting can change at run time (and under ``override_settings``).
    """
    for signal, handler in _HANDLERS:
        signal.connect(
            handler, weak=False, dispatch_uid=f"agentcore_task.autotrack.{handler.__name__}"
        )
