"""The two periodic Celery tasks: cleanup of old executions and timeout marking.

Their Celery names are fixed (``agentcore_task.adapters.django.tasks.…``), so Beat entries
and ``send_task`` calls that already name them keep working; this module is what Celery's
autodiscovery finds for either ``INSTALLED_APPS`` spelling, and
``agentcore_task.adapters.django.tasks`` re-exports the same objects.

Each run:

* does nothing but return a "skipped" dict when its ``*_ENABLED`` setting is False;
* holds a lock (``prevent_duplicate_task``, the project's lock backend) so that two runs never
  overlap, say when Beat fires while a long cleanup is still deleting; the second run
  returns the decorator's "skipped" dict;
* records itself as an execution (module ``agentcore_task``), STARTED when it begins, then
  SUCCESS with its counts or FAILURE with the traceback. Recording is a side record: when it
  fails the job still runs (and the Celery result still carries the counts).
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from celery import shared_task

from agentcore_task import conf
from agentcore_task.locks import prevent_duplicate_task
from agentcore_task.services.maintenance import (
    CleanupResult,
    TimeoutResult,
    cleanup_old_executions,
    mark_timed_out_executions,
)
from agentcore_task.services.registration import register_task_execution
from agentcore_task.services.tracker import TaskTracker
from agentcore_task.status import TaskStatus
from agentcore_task.task_names import CLEANUP_TASK_NAME, MARK_TIMEOUT_TASK_NAME

__all__ = [
    "CLEANUP_TASK_NAME",
    "MARK_TIMEOUT_TASK_NAME",
    "cleanup_old_task_executions",
    "mark_timed_out_task_executions",
]

logger = logging.getLogger("agentcore_task")

MODULE = "agentcore_task"

# Lock lifetimes (the cache backend's TTL; the advisory backend frees a dead holder's lock at
# once). Longer than a run can take, shorter than the default schedule's period, so a holder
# that died without releasing blocks at most one scheduled run.
CLEANUP_LOCK_SECONDS = 6 * 3600
MARK_TIMEOUT_LOCK_SECONDS = 25 * 60


def _disabled(setting: str) -> dict[str, Any]:
    return {
        "success": False,
        "status": "skipped",
        "reason": "disabled",
        "error": f"{setting} is False",
    }


def _record(action: str, write: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """Record one step of the run; a failure of any kind is logged and never stops the job."""
    try:
        write(*args, **kwargs)
    except Exception:
        logger.exception("agentcore_task could not %s of its own periodic run", action)


def _run_recorded(
    task_id: str | None,
    task_name: str,
    arguments: Mapping[str, Any],
    job: Callable[[], CleanupResult | TimeoutResult],
) -> CleanupResult | TimeoutResult:
    """Run ``job`` recorded as its own execution; re-raise its error after recording it."""
    # A direct call (not through a worker) has no Celery id: give the record one of its own.
    execution_id = task_id or f"local-{uuid.uuid4()}"
    _record(
        "register the start",
        register_task_execution,
        execution_id,
        task_name,
        MODULE,
        task_kwargs=dict(arguments),
        metadata={"periodic": True},
        initial_status=TaskStatus.STARTED,
    )
    try:
        result = job()
    except Exception as error:
        _record(
            "record the failure",
            TaskTracker.update_task_status,
            execution_id,
            TaskStatus.FAILURE,
            error=error,
            traceback=traceback.format_exc(),
        )
        raise
    _record(
        "record the success",
        TaskTracker.update_task_status,
        execution_id,
        TaskStatus.SUCCESS,
        result=result,
    )
    return result


@prevent_duplicate_task(CLEANUP_TASK_NAME, timeout=CLEANUP_LOCK_SECONDS)
def _locked_cleanup(task_id: str | None, arguments: dict[str, Any]) -> CleanupResult:
    return _run_recorded(  # type: ignore[return-value]
        task_id, CLEANUP_TASK_NAME, arguments, lambda: cleanup_old_executions(**arguments)
    )


@prevent_duplicate_task(MARK_TIMEOUT_TASK_NAME, timeout=MARK_TIMEOUT_LOCK_SECONDS)
def _locked_mark_timeouts(task_id: str | None, arguments: dict[str, Any]) -> TimeoutResult:
    return _run_recorded(  # type: ignore[return-value]
        task_id, MARK_TIMEOUT_TASK_NAME, arguments, lambda: mark_timed_out_executions(**arguments)
    )


@shared_task(bind=True, name=CLEANUP_TASK_NAME)
def cleanup_old_task_executions(
    self: Any, retention_days: int | None = None, only_completed: bool | None = None
) -> Mapping[str, Any]:
    """Delete old executions (Beat's daily job): :func:`cleanup_old_executions` under a lock.

    Beat calls it without arguments (the runtime configuration and settings apply); a manual
    call may pass ``retention_days`` and ``only_completed``.

    Returns:
        The cleanup's counts; a "skipped" dict when ``AGENTCORE_TASK_CLEANUP_ENABLED`` is
        False (reason ``disabled``) or another run holds the lock (``task_already_running``).
    """
    if not conf.cleanup_enabled():
        return _disabled("AGENTCORE_TASK_CLEANUP_ENABLED")
    arguments = {"retention_days": retention_days, "only_completed": only_completed}
    return _locked_cleanup(self.request.id, arguments)


@shared_task(bind=True, name=MARK_TIMEOUT_TASK_NAME)
def mark_timed_out_task_executions(
    self: Any, timeout_minutes: int | None = None
) -> Mapping[str, Any]:
    """Sync from Celery, then mark executions STARTED too long as FAILURE, under a lock.

    Beat calls it without arguments; a manual call may pass ``timeout_minutes``.

    Returns:
        :func:`mark_timed_out_executions`'s counts; a "skipped" dict when
        ``AGENTCORE_TASK_MARK_TIMEOUT_ENABLED`` is False or another run holds the lock.
    """
    if not conf.mark_timeout_enabled():
        return _disabled("AGENTCORE_TASK_MARK_TIMEOUT_ENABLED")
    return _locked_mark_timeouts(self.request.id, {"timeout_minutes": timeout_minutes})
