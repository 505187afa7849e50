"""Retry chains: which rows retry an execution, and which one started the chain."""

from __future__ import annotations

from agentcore_task.db import fetch_row
from agentcore_task.models import TaskExecution

__all__ = ["retries_of", "retry_root"]


def retries_of(execution: TaskExecution) -> list[int]:
    """Return the ids of the rows that retry ``execution`` directly, oldest first
    (the partial index ``agentcore_task_retry_of``)."""
    return list(
        TaskExecution.objects.filter(retry_of_id=execution.pk)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def retry_root(execution: TaskExecution) -> int | None:
    """Return the id of the chain's first execution; None when ``execution`` is no retry."""
    if execution.retry_of_id is None:
        return None
    row = fetch_row("retry_root", {"id": execution.pk})
    return int(row[0]) if row else None
