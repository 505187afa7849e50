"""Create the row for a task execution: an upsert, so registering twice is harmless."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentcore_task.db import fetch_execution
from agentcore_task.services import arguments
from agentcore_task.services.recording import (
    guarded,
    json_param,
    patch_param,
    warn_if_creator_dropped,
)
from agentcore_task.status import TaskStatus

if TYPE_CHECKING:
    from agentcore_task.models import TaskExecution


def register_task_execution(
    task_id: str,
    task_name: str,
    module: str,
    task_args: list[Any] | tuple[Any, ...] | None = None,
    task_kwargs: dict[str, Any] | None = None,
    created_by: Any = None,
    metadata: dict[str, Any] | None = None,
    initial_status: str | None = None,
    *,
    queue: str | None = None,
) -> TaskExecution | None:
    """Record a task execution, or return the row already recorded for ``task_id``.

    One ``INSERT … ON CONFLICT`` statement: two concurrent registrations of one id produce one
    row. A repeated registration keeps what the row already holds; it only fills a missing
    creator and adds metadata keys the row lacks.

    Args:
        task_id: the Celery task id (``task.delay(...).id``).
        task_name: dotted task name, e.g. ``"myapp.tasks.import_feed"``.
        module: business area, e.g. ``"myapp"``; the API filters and stats group by it.
        task_args: positional arguments, stored as a JSON array (made JSON-safe, redacted).
        task_kwargs: keyword arguments, stored as a JSON object (made JSON-safe, redacted).
        created_by: the user who started it (a user, a user id, or None for system runs).
        metadata: initial context, e.g. ``{"source": "manual_trigger"}``.
        initial_status: PENDING by default; STARTED for a periodic task recording itself as it
            starts (the database stamps ``started_at``).
        queue: the queue the message went to, when known (auto-tracking passes the routing
            key); fills the row's ``queue`` if it has none.

    Returns:
        The row, or None when it could not be recorded (logged; see ``AGENTCORE_TASK_STRICT``).

    Raises:
        TypeError, ValueError: a bad argument, before anything is written.
    """
    creator_id = arguments.user_id(created_by)
    params: dict[str, Any] = {
        "task_id": arguments.require_task_id(task_id),
        "task_name": arguments.require_label("task_name", task_name, 255),
        "module": arguments.require_label("module", module, 100),
        "status": TaskStatus.validate(initial_status or TaskStatus.PENDING),
        "created_by_id": creator_id,
        "queue": None if queue is None else arguments.require_label("queue", queue, 255),
        "retry_of_id": None,
    }
    args = arguments.optional_sequence("task_args", task_args) or []
    kwargs = arguments.optional_mapping("task_kwargs", task_kwargs) or {}
    patch = arguments.optional_mapping("metadata", metadata) or {}
    params["task_args"] = json_param(args)
    params["task_kwargs"] = json_param(kwargs)
    params["metadata"] = patch_param(patch)
    row = guarded(
        "register the execution",
        task_id,
        lambda: fetch_execution("register_execution", params),
    )
    warn_if_creator_dropped(row, creator_id, task_id)
    return row
