"""Copy an execution's state from Celery's result backend into its row.

The row is a side record; Celery's result backend is what the worker wrote. Syncing reads the
backend once per execution and writes only news:

* Celery's PENDING also means "I have never heard of this id" (and "the result expired"), so
  it never changes a row. RECEIVED, REJECTED and IGNORED are not stored by workers in practice
  and change nothing either.
* A state outside Celery's own (``update_state(state="PROGRESS")``) is set by a running task:
  the row becomes STARTED (from PENDING or RETRY), never anything lower.
* STARTED, RETRY, SUCCESS (with the result), FAILURE (with error and traceback) and REVOKED
  are copied when the row is in another status. Sync only moves unfinished rows forward: a
  finished row is not even looked up in the backend, because the status the application
  wrote (a task that recorded FAILURE and returned normally, a revoke) is the truth. The one
  exception is a FAILURE written by the timeout job (``timed_out``), which the real outcome
  replaces. The table's trigger enforces the same rules for any writer.

A backend that cannot be read (Redis down, no result backend configured) is logged as one
ERROR line and leaves the row as it was: a sync never raises into its caller.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from celery import current_app, states
from celery.backends.base import DisabledBackend
from django.db.models import Q

from agentcore_task.models import TaskExecution
from agentcore_task.services import arguments
from agentcore_task.services.recording import guarded
from agentcore_task.services.writes import update_task_status
from agentcore_task.status import TaskStatus
from agentcore_task.validation import checked_int

logger = logging.getLogger("agentcore_task")

# Celery states that are copied as they are.
_COPIED = {
    states.STARTED: TaskStatus.STARTED,
    states.RETRY: TaskStatus.RETRY,
    states.SUCCESS: TaskStatus.SUCCESS,
    states.FAILURE: TaskStatus.FAILURE,
    states.REVOKED: TaskStatus.REVOKED,
}
# Celery's own states that say nothing about the row: PENDING is also "unknown id".
_NO_NEWS = frozenset({states.PENDING, states.RECEIVED, states.REJECTED, states.IGNORED})

# sync_all stops after this many executions in a row could not be read from the backend: the
# backend is down, and asking the next thousand would only repeat the error. Fewer failures
# in a row (one result that cannot be decoded) do not block the executions after it.
MAX_FAILURES_IN_A_ROW = 3
_PAGE_SIZE = 500


class SyncSummary(TypedDict):
    """What ``sync_all_unfinished_executions`` did."""

    synced_count: int
    """Executions whose state was read from Celery."""
    updated_count: int
    """Of those, executions whose status changed."""


@dataclass(frozen=True)
class SyncOutcome:
    """The result of syncing one execution.

    ``row`` is the row after the sync (None: unknown task id, or the database failed);
    ``changed`` says whether its status changed; ``error`` says why Celery could not be asked.
    """

    row: TaskExecution | None
    changed: bool = False
    error: str | None = None


def celery_status(state: str) -> str | None:
    """Return the status Celery's ``state`` means for a row, or None when it means nothing."""
    if state in _COPIED:
        return _COPIED[state]
    if state in _NO_NEWS or state in states.ALL_STATES:
        return None
    return TaskStatus.STARTED  # a custom state, set by the running task itself


def sync_execution(task_id: str) -> SyncOutcome:
    """Sync one execution from Celery and say what happened.

    Raises:
        TypeError, ValueError: ``task_id`` is not a usable task id.
    """
    task_id = arguments.require_task_id(task_id)
    row = guarded(
        "read the execution",
        task_id,
        lambda: TaskExecution.objects.filter(task_id=task_id).first(),
    )
    if row is None:
        return SyncOutcome(None)
    if row.is_completed and not row.timed_out:
        return SyncOutcome(row)  # the application's own outcome: Celery cannot replace it
    written, error, _state = _apply_celery_state(task_id, row.status, timed_out=row.timed_out)
    if written is None:
        return SyncOutcome(row, error=error)
    return SyncOutcome(written, changed=written.status != row.status)


def sync_task_from_celery(task_id: str) -> TaskExecution | None:
    """Copy status, result, error and traceback from Celery's result backend into the row.

    Args:
        task_id: the Celery task id.

    Returns:
        The row after the sync; the row unchanged when Celery had no news or its result
        backend could not be read (logged); None for an unknown task id or when the database
        failed (logged).

    Raises:
        TypeError, ValueError: ``task_id`` is not a usable task id.
    """
    return sync_execution(task_id).row


def sync_all_unfinished_executions(max_sync: int | None = None) -> SyncSummary:
    """Sync PENDING, STARTED and RETRY executions from Celery, oldest first.

    One backend read per execution. After ``MAX_FAILURES_IN_A_ROW`` executions in a row could
    not be read, the backend is taken to be down and the run stops (logged).

    Args:
        max_sync: ask Celery about at most this many executions (None: all unfinished).

    Returns:
        ``{"synced_count": executions read from Celery, "updated_count": of those, the ones
        whose status changed}``.

    Raises:
        ValueError: ``max_sync`` is not None or an int >= 0.
    """
    if max_sync is not None:
        checked_int("max_sync", max_sync, minimum=0, not_int=ValueError)
    return sync_listed(_unfinished(max_sync)).summary


@dataclass
class ListedSync:
    """What :func:`sync_listed` did: the counts, and what Celery said of each id it read."""

    summary: SyncSummary
    unknown: set[str]
    """Ids Celery's backend answered PENDING for: it has never heard of them."""
    read: set[str]
    """Ids whose state was read (the others were not asked: the backend failed)."""


def sync_listed(executions: Iterable[tuple[str, str]]) -> ListedSync:
    """Sync the given ``(task_id, status)`` pairs from Celery, in order, one read each.

    After ``MAX_FAILURES_IN_A_ROW`` executions in a row could not be read, the backend is
    taken to be down and the rest are not asked (logged).
    """
    outcome = ListedSync({"synced_count": 0, "updated_count": 0}, set(), set())
    failures_in_a_row = 0
    for task_id, status in executions:
        written, error, state = _apply_celery_state(task_id, status)
        if error is not None:
            failures_in_a_row += 1
            if failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                logger.error(
                    "agentcore_task stopped syncing from Celery after %d failed reads in a row "
                    "(%d synced so far)",
                    failures_in_a_row,
                    outcome.summary["synced_count"],
                )
                break
            continue
        failures_in_a_row = 0
        outcome.read.add(task_id)
        outcome.summary["synced_count"] += 1
        if state == states.PENDING:
            outcome.unknown.add(task_id)
        if written is not None and written.status != status:
            outcome.summary["updated_count"] += 1
    return outcome


def _unfinished(limit: int | None) -> Iterator[tuple[str, str]]:
    """Yield (task_id, status) of unfinished executions, oldest first, in keyset pages.

    Pages keep memory flat on a large backlog; the keyset (created_at, id) is stable while
    the sync moves rows out of the unfinished set.
    """
    remaining = limit
    after: tuple[Any, int] | None = None
    while remaining is None or remaining > 0:
        size = _PAGE_SIZE if remaining is None else min(_PAGE_SIZE, remaining)
        rows = TaskExecution.objects.unfinished()
        if after is not None:
            rows = rows.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], id__gt=after[1]))
        rows = rows.order_by("created_at", "id")[:size]

        def read(rows: Any = rows) -> list[tuple[Any, int, str, str]]:
            return list(rows.values_list("created_at", "id", "task_id", "status"))

        page = guarded("list unfinished executions", "(all)", read)
        if not page:
            return
        for _created_at, _pk, task_id, status in page:
            yield task_id, status
        after = (page[-1][0], page[-1][1])
        if remaining is not None:
            remaining -= len(page)
        if len(page) < size:
            return


def _apply_celery_state(
    task_id: str, current: str, *, timed_out: bool = False
) -> tuple[TaskExecution | None, str | None, str | None]:
    """Read Celery's state for ``task_id`` and write it when it is news for a row in ``current``.

    A FAILURE written by the timeout job (``timed_out``) is news even when Celery says
    FAILURE too: Celery holds the real error.

    Returns:
        (the written row or None when nothing was written, why the backend could not be read,
        Celery's state as read).
    """
    try:
        meta = _read_backend(task_id)
    except Exception as exc:
        logger.error(
            "agentcore_task could not read task %s from Celery's result backend: %s: %s",
            task_id,
            type(exc).__name__,
            arguments.first_line(exc),
        )
        logger.debug("agentcore_task backend failure for task %s", task_id, exc_info=True)
        return None, f"Celery's result backend could not be read ({type(exc).__name__}).", None
    state = str(meta.get("status"))
    status = celery_status(state)
    if status is None or (status == current and not timed_out):
        return None, None, state
    outcome = meta.get("result")
    if status == TaskStatus.SUCCESS:
        return update_task_status(task_id, status, result=outcome), None, state
    if status == TaskStatus.FAILURE:
        written = update_task_status(
            task_id, status, error=_error_text(outcome), traceback=meta.get("traceback")
        )
        return written, None, state
    return update_task_status(task_id, status), None, state


def _read_backend(task_id: str) -> Mapping[str, Any]:
    """Return Celery's stored meta for ``task_id``: status, result and traceback, in one read.

    ``AsyncResult.state`` and ``.result`` would each read the backend (it caches only finished
    tasks), and a task could move between the two reads.
    """
    meta: Mapping[str, Any] = current_app.backend.get_task_meta(task_id)
    return meta


def result_backend_configured() -> bool:
    """Return whether Celery has a result backend to ask (else every read fails)."""
    return not isinstance(current_app.backend, DisabledBackend)


def _error_text(outcome: object) -> str | None:
    if outcome is None or isinstance(outcome, str | BaseException):
        return arguments.optional_text("error", outcome)
    return repr(outcome)  # a backend that could not rebuild the exception hands back its dict
