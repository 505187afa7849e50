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
* timeout marking judges a running execution by ``updated_at`` (its last sign of life), and
  a PENDING one by ``created_at``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any, TypedDict

from celery import current_app
from django.db.transaction import TransactionManagementError

from agentcore_task import conf, runtime_config
from agentcore_task.db import fetch_row, fetch_rows, write_connection
from agentcore_task.services.celery_sync import (
    SyncSummary,
    result_backend_configured,
    sync_listed,
)
from agentcore_task.services.locks import release_locks_of_finished_holders
from agentcore_task.status import TaskStatus
from agentcore_task.validation import checked_int

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
    """Running executions marked FAILURE (no sign of life for their timeout)."""
    timeout_minutes: int
    """The default timeout; tasks with their own keep theirs."""
    cutoff: str
    """ISO time: running executions silent since before it were past the default timeout."""
    synced_count: int
    """Executions read from Celery first (0 when the sync was skipped)."""
    updated_count: int
    """Of those, executions whose status the sync changed."""
    pending_marked: int
    """PENDING executions marked FAILURE as never started."""
    pending_timeout_minutes: int
    locks_released: int
    """Locks whose holder task had finished or timed out, force-released."""


def _retention_days() -> int:
    return runtime_config.effective_retention_days()


def _timeout_minutes() -> int:
    return runtime_config.effective_timeout_minutes()


def _positive_int(name: str, value: object, default: Callable[[], int]) -> int:
    return default() if value is None else checked_int(name, value)


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


TIMEOUT_OPTION = "agentcore_timeout_minutes"
"""Task option (``@app.task(agentcore_timeout_minutes=120)``): that task's own timeout."""


def timeout_error(timeout_minutes: int | str) -> str:
    """Return the ``error`` text of an execution marked by timeout marking."""
    return (
        f"Timed out: no sign of life for {timeout_minutes} minutes while running "
        "(agentcore_task timeout marking)"
    )


def never_started_error(pending_minutes: int) -> str:
    """Return the ``error`` text of a PENDING execution that Celery never heard of."""
    return (
        f"Never started: still PENDING after {pending_minutes} minutes and unknown to Celery "
        "(the message was probably lost; agentcore_task timeout marking)"
    )


def _own_timeout(task: object) -> int | None:
    own = getattr(task, TIMEOUT_OPTION, None)
    if isinstance(own, int) and not isinstance(own, bool) and own >= 1:
        return own
    return None


def _timeout_rule(default_minutes: int) -> tuple[Callable[[str], int], int]:
    """Return task name → timeout minutes (the task's option, a settings pattern, the
    default) and the shortest timeout any task can have, which bounds the candidates' query.

    The task option is read from the Celery app's task registry of this process, so the job
    must run where the tasks are registered (a worker does).
    """
    patterns = conf.timeout_overrides()
    registry = current_app.tasks
    options = [minutes for task in registry.values() if (minutes := _own_timeout(task))]

    def minutes_for(task_name: str) -> int:
        own = _own_timeout(registry.get(task_name))
        if own is not None:
            return own
        for pattern, minutes in patterns.items():
            if fnmatchcase(task_name, pattern):
                return minutes
        return default_minutes

    return minutes_for, min([default_minutes, *patterns.values(), *options])


def _timed_out(minutes: int) -> list[tuple[int, str, str, int]]:
    """Return (id, task_id, status, timeout minutes) of the running rows past their timeout."""
    minutes_for, shortest = _timeout_rule(minutes)
    rows = fetch_rows("timeout_candidates", {"shortest": dt.timedelta(minutes=shortest)})
    stale = []
    for pk, task_id, task_name, status, silent_for in rows:
        own = minutes_for(task_name)
        if silent_for > dt.timedelta(minutes=own):
            stale.append((pk, task_id, status, own))
    return stale


def count_timed_out_executions(timeout_minutes: int | None = None) -> int:
    """Return how many executions :func:`mark_timed_out_executions` would mark now, unsynced.

    Counts the running executions past their timeout (not the stale PENDING ones, which
    need Celery's answer first).
    """
    minutes = _positive_int("timeout_minutes", timeout_minutes, _timeout_minutes)
    return len(_timed_out(minutes))


def mark_timed_out_executions(
    timeout_minutes: int | None = None, *, sync: bool = True
) -> TimeoutResult:
    """Mark executions that stopped showing signs of life, and lost PENDING ones, as FAILURE.

    A STARTED or RETRY execution is timed out when its row has not been written for its
    timeout (``updated_at``, which every status change, progress update and metadata write
    moves): a long task that reports progress is never marked, however long it runs. Its
    timeout is its task's ``agentcore_timeout_minutes`` option, else the first matching
    pattern of ``AGENTCORE_TASK_TIMEOUT_OVERRIDES``, else ``timeout_minutes``.

    Exactly the executions about to be marked are first synced from Celery (stalest first,
    at most ``AGENTCORE_TASK_TIMEOUT_SYNC_MAX``), so a task that really finished is
    recorded as finished rather than as a timeout. The rest are marked in one UPDATE: status
    FAILURE, ``timed_out`` true, ``error`` saying so (:func:`timeout_error`). A marked task
    that later finishes for real still records its outcome, which clears the error.

    PENDING executions registered more than ``AGENTCORE_TASK_PENDING_TIMEOUT_MINUTES`` ago
    (1,440) are synced the same way; those Celery has never heard of are marked FAILURE as
    never started (:func:`never_started_error`). When the result backend cannot be read
    they are left for the next run; without a result backend, or with ``sync=False``, they
    are marked without asking.

    Last, locks whose holder task is finished or timed out (its worker died holding them)
    are force-released, each audited (:func:`release_locks_of_finished_holders`).

    Args:
        timeout_minutes: the default timeout; default: the runtime configuration
            (``AGENTCORE_TASK_TIMEOUT_MINUTES``, 10).
        sync: False skips the sync from Celery (e.g. while the result backend is down).

    Returns:
        The counts and the values used (:class:`TimeoutResult`).

    Raises:
        TypeError, ValueError: a bad argument, before anything is written.
        DatabaseError: an UPDATE failed. (A result backend that cannot be read is logged by
            the sync and does not stop the marking.)
    """
    minutes = _positive_int("timeout_minutes", timeout_minutes, _timeout_minutes)
    if not isinstance(sync, bool):
        raise TypeError(f"sync must be a bool, not {type(sync).__name__}")
    synced: SyncSummary = {"synced_count": 0, "updated_count": 0}
    budget = conf.timeout_sync_max()

    stale = _timed_out(minutes)
    if sync and stale:
        listed = sync_listed((task_id, status) for _pk, task_id, status, _m in stale[:budget])
        synced = listed.summary
        budget -= len(listed.read)
        stale = _timed_out(minutes)  # the sync finished some; the rest are re-read
    marked = 0
    if stale:
        marked = _mark(
            "mark_timed_out",
            {
                "ids": [pk for pk, *_rest in stale],
                "minutes": [own for *_rest, own in stale],
                "error": timeout_error("{minutes}"),
            },
            "agentcore_task marked %d running execution(s) without a sign of life for their "
            "timeout as FAILURE (default timeout %d min)",
            minutes,
        )

    pending_marked, pending_synced = _mark_never_started(sync, max(budget, 0))
    locks_released = release_locks_of_finished_holders()
    cutoff = dt.datetime.now(tz=dt.UTC) - dt.timedelta(minutes=minutes)
    return {
        "marked": marked,
        "timeout_minutes": minutes,
        "cutoff": cutoff.isoformat(),
        "synced_count": synced["synced_count"] + pending_synced["synced_count"],
        "updated_count": synced["updated_count"] + pending_synced["updated_count"],
        "pending_marked": pending_marked,
        "pending_timeout_minutes": conf.pending_timeout_minutes(),
        "locks_released": locks_released,
    }


def _mark_never_started(sync: bool, budget: int) -> tuple[int, SyncSummary]:
    """Mark stale PENDING executions that Celery never heard of; return (marked, sync counts)."""
    pending_minutes = conf.pending_timeout_minutes()
    timeout = dt.timedelta(minutes=pending_minutes)
    asking = sync and result_backend_configured()
    limit = budget if asking else conf.timeout_sync_max()
    synced: SyncSummary = {"synced_count": 0, "updated_count": 0}
    if limit < 1:
        return 0, synced  # the sync budget went to the running rows: next run
    rows = fetch_rows("stale_pending", {"timeout": timeout, "limit": limit})
    if not rows:
        return 0, synced
    if asking:
        listed = sync_listed((task_id, status) for _pk, task_id, status in rows)
        synced = listed.summary
        ids = [pk for pk, task_id, _status in rows if task_id in listed.unknown]
    else:
        ids = [pk for pk, _task_id, _status in rows]
    if not ids:
        return 0, synced
    marked = _mark(
        "mark_never_started",
        {"ids": ids, "timeout": timeout, "error": never_started_error(pending_minutes)},
        "agentcore_task marked %d execution(s) PENDING for more than %d minutes, unknown to "
        "Celery, as FAILURE (never started)",
        pending_minutes,
    )
    return marked, synced


def _mark(statement: str, params: dict[str, Any], message: str, minutes: int) -> int:
    """Run a marking statement; return how many rows it marked, logged as a WARNING.

    A WARNING because every marked row is a task whose outcome was lost; ``message`` takes
    the count and the timeout in minutes.
    """
    row = fetch_row(statement, params)
    marked = int(row[0]) if row else 0
    if marked:
        logger.warning(message, marked, minutes)
    return marked
