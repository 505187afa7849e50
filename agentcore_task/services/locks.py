"""Locks as operators see them: list the held ones, force-release one, free stuck ones.

Over :mod:`agentcore_task.locks` (which stands alone and knows nothing of rows or audits):
this module adds the audit row of a forced release, and the timeout job's clean-up of locks
whose holder task has finished or timed out (a worker killed with SIGKILL never releases its
cache lock; the TTL would otherwise keep the name blocked for up to the lock's timeout).
"""

from __future__ import annotations

import logging
from typing import Any

from agentcore_task.locks.api import LockListing, force_release_lock, list_held_locks
from agentcore_task.locks.base import HeldLock, LockBackendError
from agentcore_task.models import TaskExecution
from agentcore_task.services.audit import record_action
from agentcore_task.status import TaskStatus

__all__ = ["list_locks", "release_lock", "release_locks_of_finished_holders"]

logger = logging.getLogger("agentcore_task")


def list_locks(backend: str | None = None) -> LockListing:
    """List the locks held now on both backends (or ``backend``): see ``list_held_locks``."""
    return list_held_locks(backend)


def release_lock(
    name: str,
    *,
    backend: str | None = None,
    actor: Any = None,
    reason: str | None = None,
    source: str = "code",
) -> tuple[str, str] | None:
    """Force-release the lock ``name`` whoever holds it, and audit it.

    Returns:
        ``(backend, what was done)``, or None when no backend held it (nothing is audited).

    Raises:
        TypeError, ValueError: a bad name or backend.
        LockBackendError: the backend could not answer.
    """
    done = force_release_lock(name, backend=backend)
    if done is not None:
        record_action(
            "lock_release",
            actor=actor,
            source=source,
            target={"lock": name, "backend": done[0]},
            counts={"released": 1},
            reason=reason or done[1],
        )
    return done


def release_locks_of_finished_holders() -> int:
    """Release the locks whose holder task's row is finished (or timed out); return how many.

    A lock taken by a task (``holder`` is its id) outlives the task only when its process
    died before releasing it. Each release is audited as done by the system.
    """
    try:
        listing = list_held_locks()
    except LockBackendError:  # pragma: no cover - list_held_locks reports, never raises
        return 0
    holders: dict[str, list[HeldLock]] = {}
    for lock in listing["locks"]:
        if lock["holder"]:
            holders.setdefault(lock["holder"], []).append(lock)
    if not holders:
        return 0
    finished = set(
        TaskExecution.objects.filter(task_id__in=list(holders))
        .filter(status__in=TaskStatus.get_completed_statuses())
        .values_list("task_id", flat=True)
    )
    released = 0
    for task_id in sorted(finished):
        for lock in holders[task_id]:
            try:
                done = release_lock(
                    lock["name"],
                    backend=lock["backend"],
                    source="system",
                    reason=f"its holder, task {task_id}, has finished or timed out",
                )
            except LockBackendError as exc:
                logger.warning("agentcore_task could not release lock %r: %s", lock["name"], exc)
                continue
            released += done is not None
    return released
