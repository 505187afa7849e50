"""What a write knows about the Celery task running in this process, if any.

A worker's write can arrive before the publisher's registration (the publisher registered
after ``.delay()`` returned, or inside a transaction it has not committed yet). When the
write is for the task running right here, the task's request says everything the row needs:
its name, arguments and (under automatic tracking) the publishing user. So instead of
dropping the write, :func:`create_row_for_running_task` creates the row, STARTED, and the
write is applied to it; a registration that arrives later completes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from celery import current_task

from agentcore_task.db import fetch_execution
from agentcore_task.services.recording import guarded, json_param, warn_if_creator_dropped

if TYPE_CHECKING:
    from agentcore_task.models import TaskExecution

USER_HEADER = "agentcore_user_id"
"""Message header carrying the id of the user who published the task."""
MODULE_OPTION = "agentcore_module"
"""Task option (``@shared_task(agentcore_module="billing")``) naming the row's module."""

_MODULE_MAX_LENGTH = 100


def module_for(task_name: str, task: object = None) -> str:
    """Return the row's module: the task's ``agentcore_module`` option, else the name's first
    dotted part (``"billing.tasks.charge"`` → ``"billing"``; a name without dots is its own)."""
    module = getattr(task, MODULE_OPTION, None)
    if not isinstance(module, str) or not module.strip():
        module = task_name.split(".", 1)[0]
    return module[:_MODULE_MAX_LENGTH]


def header(request: object, name: str) -> Any:
    """Return a custom message header from a task request (a worker's or an eager one)."""
    headers = getattr(request, "headers", None)
    if isinstance(headers, Mapping) and name in headers:
        return headers[name]
    return getattr(request, name, None)  # protocol 2 also spreads headers onto the request


def publisher_user_id(request: object) -> int | None:
    """Return the publishing user's id carried by the request's header, if any."""
    value = header(request, USER_HEADER)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _text_or_none(value: object) -> str | None:
    return value[:255] if isinstance(value, str) and value else None


def start_params(task: Any, task_id: str, args: Any, kwargs: Any, user_id: int | None) -> dict:
    """Return the parameters of ``start_execution`` for a task object and its call.

    The worker and queue come from the request: its ``hostname`` (the worker's node name)
    and the routing key of the message it was delivered with.
    """
    name = str(task.name)
    request = getattr(task, "request", None)
    delivery = getattr(request, "delivery_info", None)
    routing_key = delivery.get("routing_key") if isinstance(delivery, Mapping) else None
    return {
        "worker": _text_or_none(getattr(request, "hostname", None)),
        "queue": _text_or_none(routing_key),
        "task_id": task_id,
        "task_name": name,
        "module": module_for(name, task),
        "task_args": json_param(list(args or ())),
        "task_kwargs": json_param(dict(kwargs or {})),
        "created_by_id": user_id,
    }


def record_start(
    task: Any, task_id: str, args: Any, kwargs: Any, user_id: int | None
) -> TaskExecution | None:
    """Mark ``task_id`` STARTED, creating its row from the task and its call if need be.

    Under the failure policy: None (logged) when the database failed.
    """
    params = start_params(task, task_id, args, kwargs, user_id)
    row = guarded("record the start", task_id, lambda: fetch_execution("start_execution", params))
    warn_if_creator_dropped(row, user_id, task_id)
    return row


def running_task_for(task_id: str) -> Any:
    """Return the Celery task running in this context when its id is ``task_id``, else None."""
    task = current_task
    if not task:
        return None
    request = getattr(task, "request", None)
    if getattr(request, "id", None) != task_id or not isinstance(getattr(task, "name", None), str):
        return None
    return task


def create_row_for_running_task(task_id: str) -> bool:
    """Create ``task_id``'s row, STARTED, when it is the task running here; say whether.

    Raises:
        DatabaseError: the insert failed (callers run under the failure policy).
    """
    task = running_task_for(task_id)
    if task is None:
        return False
    request = task.request
    params = start_params(task, task_id, request.args, request.kwargs, publisher_user_id(request))
    fetch_execution("start_execution", params)
    return True
