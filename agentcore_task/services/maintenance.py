"""The periodic jobs' work: delete old executions, mark executions that ran out of time.

Both are plain functions the Celery tasks (``agentcore_task.tasks``), the operator command
and callers' own code share. Defaults come from the runtime configuration (a database
override, else the ``AGENTCORE_TASK_*`` setting, else its default): see :func:`_retention_days`
and :func:`_timeout_minutes`, the one place each is looked up.

Age is measured on the database's clock, the one that stamped the rows:

* cleanup judges an execution by ``created_at`` (when it was registered). Every row has one,
  it never changes, and the ``agentcore_task_created`` index serves it, so a batch reads only
  the rows it deletes. ``finished_at`` would spare a long run that finished recently, but it
  is NULL on unfinished rows and has no index; a retention of days is far longer than runs.
* timeout marking judges a STARTED execution by ``started_at`` (when a worker took it).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TypedDict

from django.db.transaction import TransactionManagementError

from agentcore_task import conf
from agentcore_task.db import fetch_row, write_connection
from agentcore_task.services.celery_sync import SyncSummary
from agentcore_task.status import TaskStatus

logger = logging.getLogger("agentcore_task")

# The keyset of the first batch: before any created_at.
_BEFORE_EVERYTHING = dt.datetime.min.replace(tzinfo=dt.UTC)


class CleanupResult(TypedDict):
    """What ``cleanup_old_executions`` did."""

    deleted: int
    """Executions deleted."""
    batches: int
    """DELETE statements run, each its own transaction (the last one may delete nothing)."""
    retention_days: int
    only_completed: bool
    batch_size: int
    cutoff: str
    """ISO time: executions created before it were old enough to go."""


class TimeoutResult(TypedDict):
    """What ``mark_timed_out_executions`` did."""

    marked: int
    """Executions marked FAILURE."""
    timeout_minutes: int
    cutoff: str
    """ISO time: executions STARTED before it were marked."""
    synced_count: int
    """Unfinished executions read from Celery first (0 when the sync was skipped)."""
    updated_count: int
    """Of those, executions whose status the sync changed."""


def _retention_days() -> int:
    from agentcore_task.runtime_config import effective_retention_days

    return effective_retention_days()


def _timeout_minutes() -> int:
    from agentcore_task.runtime_config import effective_timeout_minutes

    return effective_timeout_minutes()


def _positive_int(name: str, value: object, default: Callable[[], int]) -> int:
    if value is None:
        return default()
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def _optional_bool(name: str, value: object, default: Callable[[], bool]) -> bool:
    if value is None:
        return default()
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool or None, not {type(value).__name__}")
    return value


def _statuses(only_completed: bool) -> list[str]:
    return TaskStatus.get_completed_statuses() if only_completed else TaskStatus.get_all_statuses()


def _cutoff(retention_days: int) -> dt.datetime:
    row = fetch_row("cleanup_cutoff", {"retention": dt.timedelta(days=retention_days)})
    assert row is not None
    cutoff: dt.datetime = row[0]
    return cutoff


def count_old_executions(
    retention_days: int | None = None, only_completed: bool | None = None
) -> int:
    """Return how many executions :func:`cleanup_old_executions` would delete now (a dry run).

    Takes the same arguments and defaults as :func:`cleanup_old_executions`.
    """
    days = _positive_int("retention_days", retention_days, _retention_days)
    completed = _optional_bool("only_completed", only_completed, conf.cleanup_only_completed)
    params = {"cutoff": _cutoff(days), "statuses": _statuses(completed)}
    row = fetch_row("cleanup_count", params)
    assert row is not None
    return int(row[0])


def cleanup_old_executions(
    retention_days: int | None = None,
    only_completed: bool | None = None,
    batch_size: int | None = None,
    *,
    on_batch: Callable[[int, int], None] | None = None,
) -> CleanupResult:
    """Delete executions created more than ``retention_days`` days ago, in short batches.

    Each batch is one ``DELETE … LIMIT batch_size … FOR UPDATE SKIP LOCKED`` statement and its
    own transaction, oldest rows first: a big backlog never holds many row locks for long,
    and a row a worker is updating right now is skipped rather than waited for (the next run
    takes it). The cutoff is fixed when the call starts, so rows that age during a long
    cleanup wait for the next run.

    Args:
        retention_days: age in days, measured on ``created_at``; default: the runtime
            configuration (``AGENTCORE_TASK_RETENTION_DAYS``, 30).
        only_completed: delete only SUCCESS, FAILURE and REVOKED rows; False deletes old
            PENDING, STARTED and RETRY rows too. Default
            ``AGENTCORE_TASK_CLEANUP_ONLY_COMPLETED`` (True).
        batch_size: rows per batch; default ``AGENTCORE_TASK_CLEANUP_BATCH_SIZE`` (5,000).
        on_batch: called after each batch that deleted rows with (rows in that batch,
            rows so far), e.g. to print progress.

    Returns:
        The counts and the values used (:class:`CleanupResult`).

    Raises:
        TypeError, ValueError: a bad argument, before anything is deleted.
        TransactionManagementError: called inside ``transaction.atomic()``. The batches would
            become one transaction holding every deleted row's lock until the caller commits,
            the long lock this function exists to avoid; call it outside the block (or use
            :func:`count_old_executions` there).
        DatabaseError: the database failed; batches already deleted stay deleted.
    """
    days = _positive_int("retention_days", retention_days, _retention_days)
    completed = _optional_bool("only_completed", only_completed, conf.cleanup_only_completed)
    size = _positive_int("batch_size", batch_size, conf.cleanup_batch_size)
    if write_connection().in_atomic_block:
        raise TransactionManagementError(
            "cleanup_old_executions() must not run inside transaction.atomic(): its batches "
            "would become one long transaction that locks every deleted row until the caller "
            "commits. Call it outside the atomic block."
        )
    cutoff = _cutoff(days)
    params = {
        "cutoff": cutoff,
        "statuses": _statuses(completed),
        "batch_size": size,
        "after": _BEFORE_EVERYTHING,
    }
    deleted = batches = 0
    while True:
        row = fetch_row("cleanup_delete_batch", params)
        assert row is not None
        count, newest = int(row[0]), row[1]
        batches += 1
        deleted += count
        if count and on_batch is not None:
            on_batch(count, deleted)
        if count < size:
            break
        params["after"] = newest
    logger.info(
        "agentcore_task cleanup deleted %d execution(s) created before %s in %d batch(es)",
        deleted,
        cutoff.isoformat(),
        batches,
    )
    return {
        "deleted": deleted,
        "batches": batches,
        "retention_days": days,
        "only_completed": completed,
        "batch_size": size,
        "cutoff": cutoff.isoformat(),
    }


def timeout_error(timeout_minutes: int) -> str:
    """Return the ``error`` text of an execution marked by timeout marking."""
    return (
        f"Timed out: still STARTED after {timeout_minutes} minutes (agentcore_task timeout marking)"
    )


def count_timed_out_executions(timeout_minutes: int | None = None) -> int:
    """Return how many executions :func:`mark_timed_out_executions` would mark now, unsynced."""
    minutes = _positive_int("timeout_minutes", timeout_minutes, _timeout_minutes)
    row = fetch_row("count_timed_out", {"timeout": dt.timedelta(minutes=minutes)})
    assert row is not None
    return int(row[0])


def mark_timed_out_executions(
    timeout_minutes: int | None = None, *, sync: bool = True
) -> TimeoutResult:
    """Mark executions STARTED for longer than ``timeout_minutes`` as FAILURE.

    First asks Celery about unfinished executions (at most ``AGENTCORE_TASK_TIMEOUT_SYNC_MAX``,
    oldest first), so that a task that really finished is recorded as finished rather than
    as a timeout. Then one UPDATE marks every execution still STARTED whose ``started_at`` is
    older than the timeout: status FAILURE, ``error`` saying so (:func:`timeout_error`),
    ``finished_at`` stamped by the database. A marked task that later finishes for real still
    records its outcome (terminal → terminal is allowed).

    Args:
        timeout_minutes: default: the runtime configuration (``AGENTCORE_TASK_TIMEOUT_MINUTES``,
            10).
        sync: False skips the sync from Celery (e.g. while the result backend is down).

    Returns:
        The counts and the values used (:class:`TimeoutResult`).

    Raises:
        TypeError, ValueError: a bad argument, before anything is written.
        DatabaseError: the UPDATE failed. (A result backend that cannot be read is logged by
            the sync and does not stop the marking.)
    """
    minutes = _positive_int("timeout_minutes", timeout_minutes, _timeout_minutes)
    if not isinstance(sync, bool):
        raise TypeError(f"sync must be a bool, not {type(sync).__name__}")
    synced: SyncSummary = {"synced_count": 0, "updated_count": 0}
    if sync:
        # Through the tracker, the public home of the sync; imported here because the
        # tracker's module imports much of the package.
        from agentcore_task.services.tracker import TaskTracker

        synced = TaskTracker.sync_all_unfinished_executions(max_sync=conf.timeout_sync_max())
    params = {"timeout": dt.timedelta(minutes=minutes), "error": timeout_error(minutes)}
    row = fetch_row("mark_timed_out", params)
    assert row is not None
    marked, cutoff = int(row[0]), row[1]
    if marked:
        logger.warning(
            "agentcore_task marked %d execution(s) STARTED before %s as FAILURE (timeout %d min)",
            marked,
            cutoff.isoformat(),
            minutes,
        )
    return {
        "marked": marked,
        "timeout_minutes": minutes,
        "cutoff": cutoff.isoformat(),
        "synced_count": synced["synced_count"],
        "updated_count": synced["updated_count"],
    }
