"""Operator verbs on executions: revoke that sticks, retry as a new linked row, bulk.

The row, not a worker's memory, is the truth. A revoke writes the row REVOKED first, in one
statement, and only then asks Celery to revoke (a broadcast the running workers keep in
memory): a worker that starts later, or restarts and forgets, still finds the row REVOKED
when the message arrives and discards it (:mod:`agentcore_task.revoke_guard`). A retry never
reuses the finished row: it dispatches the same task and arguments as a new row whose
``retry_of`` points back. Each verb leaves one audit row (:func:`record_action`).
"""

from __future__ import annotations

import logging
import signal as signals
from collections.abc import Iterable
from typing import Any, TypedDict

from celery import current_app
from django.db.models import QuerySet

from agentcore_task import conf
from agentcore_task.db import fetch_execution, fetch_row, fetch_rows
from agentcore_task.exceptions import (
    ExecutionFinished,
    ExecutionNotFinished,
    ExecutionStateError,
    RedactedArguments,
)
from agentcore_task.jsonsafe import REDACTED, clean_text
from agentcore_task.models import UNFINISHED_STATUSES, TaskExecution
from agentcore_task.querysets import ExecutionFilters
from agentcore_task.services.audit import actor_name, record_action
from agentcore_task.services.dispatch import dispatch_execution
from agentcore_task.services.recording import guarded, patch_param

__all__ = [
    "ACTIONS",
    "BulkResult",
    "bulk_operate",
    "execution_is_revoked",
    "redacted_argument_keys",
    "retry_execution",
    "revoke_execution",
]

logger = logging.getLogger("agentcore_task")

ACTIONS = ("revoke", "retry")
_UNFINISHED = frozenset(str(status) for status in UNFINISHED_STATUSES)


def _row(execution: TaskExecution | int | str) -> TaskExecution:
    """Return the current row for an instance, a primary key or a task id.

    Raises:
        TaskExecution.DoesNotExist: no such row.
        TypeError: anything else.
    """
    if isinstance(execution, TaskExecution):
        return TaskExecution.objects.get(pk=execution.pk)
    if isinstance(execution, int) and not isinstance(execution, bool):
        return TaskExecution.objects.get(pk=execution)
    if isinstance(execution, str):
        return TaskExecution.objects.get(task_id=execution)
    raise TypeError(f"execution must be a TaskExecution, its id or its task id, not {execution!r}")


def _signal_name(signal: object) -> str:
    """Return the signal's name (``"SIGTERM"``), accepting a name, a number or a Signals."""
    try:
        if isinstance(signal, int) and not isinstance(signal, bool):
            return signals.Signals(signal).name
        if isinstance(signal, str):
            name = signal.strip().upper()
            return signals.Signals[name if name.startswith("SIG") else f"SIG{name}"].name
    except (KeyError, ValueError):
        pass
    raise ValueError(f"signal must name a signal such as 'SIGTERM' or 'SIGKILL', not {signal!r}")


def _revoke_note(actor: Any, source: str, reason: str | None) -> tuple[str, str]:
    who = actor_name(actor, source)
    reason = clean_text(reason) if isinstance(reason, str) else None
    error = f"Revoked by {who}" + (f": {reason}" if reason else "")
    return error, patch_param({"revoked_by": who, "revoke_reason": reason or ""})


def _tell_celery(task_ids: list[str], *, terminate: bool, signal: str) -> bool:
    """Broadcast the revoke; False (logged) when the broker could not be reached.

    The rows are already REVOKED, so a failed broadcast only means a task that is running
    now is not stopped; none that has not started will run.
    """
    if not task_ids:
        return True
    try:
        current_app.control.revoke(task_ids, terminate=terminate, signal=signal)
    except Exception as exc:
        logger.warning(
            "agentcore_task revoked %d row(s) but could not tell the workers: %s: %s",
            len(task_ids),
            type(exc).__name__,
            exc,
        )
        return False
    return True


def revoke_execution(
    execution: TaskExecution | int | str,
    *,
    terminate: bool = False,
    signal: str | int = "SIGTERM",
    actor: Any = None,
    reason: str | None = None,
    source: str = "code",
) -> TaskExecution:
    """Revoke an unfinished execution: the row REVOKED first (durably), then Celery's revoke.

    A worker that receives the task later, even after every worker restarted and forgot
    Celery's in-memory revoke list, finds the row REVOKED and does not run its body.

    Args:
        execution: the row, its primary key or its Celery task id.
        terminate: also kill the task if a worker is running it (Celery's ``terminate``).
        signal: the signal sent with ``terminate`` (``"SIGTERM"``, ``"SIGKILL"``, a number).
        actor: the user acting (recorded in the audit trail and the row's metadata).
        reason: why (the same).
        source: where the action comes from (``api``, ``admin``, ``command``…).

    Returns:
        The REVOKED row.

    Raises:
        TaskExecution.DoesNotExist: no such execution.
        ExecutionFinished: it had already finished (SUCCESS, FAILURE or REVOKED).
        TypeError, ValueError: a bad argument, before anything is written.
    """
    if not isinstance(terminate, bool):
        raise TypeError(f"terminate must be a bool, not {type(terminate).__name__}")
    signal_name = _signal_name(signal)
    row = _row(execution)
    error, metadata = _revoke_note(actor, source, reason)
    revoked = fetch_execution(
        "revoke_execution", {"id": row.pk, "error": error, "metadata": metadata}
    )
    if revoked is None:
        current = _row(row.pk)
        raise ExecutionFinished(
            f"execution {current.pk} already finished ({current.status}): there is nothing to "
            "revoke"
        )
    notified = _tell_celery([revoked.task_id], terminate=terminate, signal=signal_name)
    record_action(
        "revoke",
        actor=actor,
        source=source,
        target={"executions": [revoked.pk], "terminate": terminate},
        counts={"revoked": 1, "workers_told": int(notified)},
        reason=reason,
    )
    return revoked


def redacted_argument_keys(execution: TaskExecution) -> list[str]:
    """Return where the stored arguments hold the redaction marker (``kwargs.password``,
    ``args[0].token``): values that were never stored and so cannot be replayed."""
    found: list[str] = []
    stack: list[tuple[str, Any]] = [
        ("args", execution.task_args),
        ("kwargs", execution.task_kwargs),
    ]
    while stack:
        path, value = stack.pop()
        if value == REDACTED:
            found.append(path)
        elif isinstance(value, dict):
            stack.extend((f"{path}.{key}", item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
    return sorted(found)


def _task_for(name: str) -> Any:
    """The registered task object, else a signature by name (sent with ``send_task``)."""
    task = current_app.tasks.get(name)
    return task if task is not None else current_app.signature(name)


def _retry(row: TaskExecution, actor: Any, source: str) -> TaskExecution:
    if row.status in _UNFINISHED:
        raise ExecutionNotFinished(
            f"execution {row.pk} has not finished ({row.status}): only a finished execution "
            "can be retried"
        )
    keys = redacted_argument_keys(row)
    if keys:
        raise RedactedArguments(
            f"execution {row.pk} cannot be replayed: its arguments were redacted when stored "
            f"({', '.join(keys)}); start it again with the real values",
            keys,
        )
    options: dict[str, Any] = {"queue": row.queue} if row.queue else {}
    new = dispatch_execution(
        _task_for(row.task_name),
        row.task_args,
        row.task_kwargs,
        module=row.module,
        created_by=row.created_by_id,
        metadata={"retried_by": actor_name(actor, source)},
        retry_of_id=row.pk,
        **options,
    )
    if new.pk is None:
        raise ExecutionStateError(
            f"the retry of execution {row.pk} could not be recorded (see the agentcore_task log)"
        )
    return new


def retry_execution(
    execution: TaskExecution | int | str,
    *,
    actor: Any = None,
    reason: str | None = None,
    source: str = "code",
) -> TaskExecution:
    """Run a finished execution again as a new row: same task, module, arguments and creator.

    The new row goes through :func:`~agentcore_task.dispatch` (new task id, PENDING before
    the message is sent) on the original's queue, and its ``retry_of`` is the original.

    Returns:
        The new row.

    Raises:
        TaskExecution.DoesNotExist: no such execution.
        ExecutionNotFinished: it is still PENDING, STARTED or RETRY.
        RedactedArguments: its stored arguments hold redacted values (``keys`` names them).
    """
    row = _row(execution)
    new = _retry(row, actor, source)
    record_action(
        "retry",
        actor=actor,
        source=source,
        target={"executions": [row.pk], "new_executions": [new.pk]},
        counts={"retried": 1},
        reason=reason,
    )
    return new


class BulkResult(TypedDict):
    """What :func:`bulk_operate` matched and did."""

    action: str
    dry_run: bool
    matched: int
    """Rows the ids or the filter matched, within the caller's scope."""
    limit: int
    acted_on: int
    """Rows the run took up (at most ``limit``; 0 on a dry run)."""
    truncated: bool
    """True when more rows matched than the limit let the run act on."""
    counts: dict[str, int]
    """Rows per outcome: revoke: revoked, already_finished; retry: retried, not_finished,
    redacted_arguments, failed."""


def bulk_operate(
    action: str,
    rows: QuerySet[TaskExecution],
    *,
    ids: Iterable[int] | None = None,
    filters: ExecutionFilters | None = None,
    dry_run: bool = False,
    actor: Any = None,
    reason: str | None = None,
    source: str = "code",
    target: dict[str, Any] | None = None,
    terminate: bool = False,
) -> BulkResult:
    """Revoke or retry many executions: the ones ``ids`` or ``filters`` pick out of ``rows``.

    ``rows`` is the caller's scope (the API passes what the user may see), so nobody acts
    on a row they cannot see. A dry run counts and changes nothing; a real run acts on at
    most ``AGENTCORE_TASK_BULK_LIMIT`` rows, oldest id first, and says when it stopped short.

    Raises:
        ValueError: an unknown action, or neither / both of ``ids`` and ``filters``.
    """
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    if (ids is None) == (filters is None):
        raise ValueError("give either ids or filters")
    selected = rows.filter(pk__in=list(ids)) if ids is not None else rows.matching(filters)  # type: ignore[attr-defined]
    matched = selected.count()
    limit = conf.bulk_limit()
    result: BulkResult = {
        "action": action,
        "dry_run": dry_run,
        "matched": matched,
        "limit": limit,
        "acted_on": 0,
        "truncated": not dry_run and matched > limit,
        "counts": {},
    }
    if dry_run:
        return result
    chosen = list(selected.order_by("pk").values_list("pk", flat=True)[:limit])
    result["acted_on"] = len(chosen)
    if action == "revoke":
        result["counts"] = _bulk_revoke(chosen, actor, source, reason, terminate)
    else:
        result["counts"] = _bulk_retry(chosen, actor, source)
    record_action(
        f"bulk_{action}",
        actor=actor,
        source=source,
        target=target or ({"executions": list(ids)} if ids is not None else {}),
        counts={"matched": matched, "acted_on": len(chosen), **result["counts"]},
        reason=reason,
    )
    return result


def _bulk_revoke(
    ids: list[int], actor: Any, source: str, reason: str | None, terminate: bool
) -> dict[str, int]:
    error, metadata = _revoke_note(actor, source, reason)
    revoked = fetch_rows("revoke_executions", {"ids": ids, "error": error, "metadata": metadata})
    _tell_celery([task_id for _pk, task_id in revoked], terminate=terminate, signal="SIGTERM")
    return {"revoked": len(revoked), "already_finished": len(ids) - len(revoked)}


def _bulk_retry(ids: list[int], actor: Any, source: str) -> dict[str, int]:
    counts = {"retried": 0, "not_finished": 0, "redacted_arguments": 0, "failed": 0}
    for row in TaskExecution.objects.filter(pk__in=ids).order_by("pk").iterator():
        try:
            _retry(row, actor, source)
        except ExecutionNotFinished:
            counts["not_finished"] += 1
        except RedactedArguments:
            counts["redacted_arguments"] += 1
        except ExecutionStateError:
            counts["failed"] += 1
        else:
            counts["retried"] += 1
    return counts


def execution_is_revoked(task_id: str) -> bool:
    """Tell whether the row of ``task_id`` is REVOKED (False when it has none).

    Under the failure policy: a database that cannot answer is logged and read as "not
    revoked", so the tracker never stops a task it cannot check.
    """
    row = guarded(
        "check for a revoke",
        task_id,
        lambda: fetch_row("execution_is_revoked", {"task_id": task_id}),
    )
    return bool(row and row[0])
