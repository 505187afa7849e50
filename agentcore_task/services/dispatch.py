"""Send a Celery task with its row already in place: ``dispatch(task, args, kwargs)``.

``result = task.delay(...)`` followed by ``register_task_execution(result.id, ...)`` races the
worker: the worker may start, report progress and finish before the registration lands, and
inside the caller's transaction the registration is invisible until commit. ``dispatch``
turns the order around. It mints the task id, inserts the PENDING row first, in the caller's
transaction, and sends the message only when that transaction commits
(``transaction.on_commit``; at once in autocommit mode). So the worker can never see the task
before its row, and a rollback leaves neither a row nor a message.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.utils import uuid
from django.db import transaction

from agentcore_task import conf, transactions
from agentcore_task.db import fetch_execution, write_connection
from agentcore_task.models import TaskExecution
from agentcore_task.services import arguments
from agentcore_task.services.recording import guarded, json_param, patch_param
from agentcore_task.services.running_task import module_for
from agentcore_task.services.writes import update_task_status
from agentcore_task.status import TaskStatus

logger = logging.getLogger("agentcore_task")


def _check_task(task: object) -> str:
    name = getattr(task, "name", None)
    if not callable(getattr(task, "apply_async", None)) or not isinstance(name, str):
        raise TypeError(f"task must be a Celery task (with .name and .apply_async), not {task!r}")
    return name


def dispatch(
    task: Any,
    args: list[Any] | tuple[Any, ...] | None = None,
    kwargs: dict[str, Any] | None = None,
    *,
    module: str | None = None,
    created_by: Any = None,
    metadata: dict[str, Any] | None = None,
    **options: Any,
) -> TaskExecution:
    """Record the execution as PENDING, then send the task when the caller's transaction commits.

    Args:
        task: the Celery task object (``@shared_task``/``@app.task``).
        args: positional arguments for the task (stored JSON-safe and redacted; the task
            receives them as given).
        kwargs: keyword arguments for the task.
        module: the row's business area; default the task's ``agentcore_module`` option, else
            the first dotted part of its name.
        created_by: the user who starts it (a user, a user id, or None).
        metadata: initial metadata of the row.
        **options: passed to ``task.apply_async`` (``queue``, ``countdown``, ``headers``…);
            not ``task_id``: dispatch mints it.

    Returns:
        The row, at once (before the message is sent when a transaction is open). When the
        row could not be recorded (the database failed: logged) the message is still sent
        and the instance returned is unsaved (``pk`` None) but carries the task id.

    Raises:
        TypeError, ValueError: a bad argument, before anything is written or sent.
        Exception: with ``AGENTCORE_TASK_STRICT``, a recording or publishing failure.
    """
    return dispatch_execution(
        task, args, kwargs, module=module, created_by=created_by, metadata=metadata, **options
    )


def dispatch_execution(
    task: Any,
    args: list[Any] | tuple[Any, ...] | None = None,
    kwargs: dict[str, Any] | None = None,
    *,
    module: str | None = None,
    created_by: Any = None,
    metadata: dict[str, Any] | None = None,
    retry_of_id: int | None = None,
    **options: Any,
) -> TaskExecution:
    """:func:`dispatch`, and the row's ``retry_of`` link (an operator's retry sets it)."""
    task_name = _check_task(task)
    if "task_id" in options:
        raise TypeError("dispatch() mints the task id itself; do not pass task_id")
    call_args = list(arguments.optional_sequence("args", args) or [])
    call_kwargs = dict(arguments.optional_mapping("kwargs", kwargs) or {})
    task_id = uuid()
    task_name = arguments.require_label("task_name", task_name, 255)
    row_module = arguments.require_label("module", module or module_for(task_name, task), 100)
    params: dict[str, Any] = {
        "task_id": task_id,
        "task_name": task_name,
        "module": row_module,
        "status": TaskStatus.PENDING.value,
        "created_by_id": arguments.user_id(created_by),
        "task_args": json_param(call_args),
        "task_kwargs": json_param(call_kwargs),
        "metadata": patch_param(arguments.optional_mapping("metadata", metadata) or {}),
        "queue": queue_for(task, task_name, call_args, call_kwargs, options),
        "retry_of_id": retry_of_id,
    }
    row = guarded(
        "record the dispatched execution",
        task_id,
        lambda: fetch_execution("register_execution", params, join=True),
    )

    def send() -> None:
        try:
            task.apply_async(call_args, call_kwargs, task_id=task_id, **options)
        except Exception as exc:
            _record_failed_publish(task_id, task_name, exc)
            if conf.strict():
                raise

    connection = write_connection()
    if row is not None and transactions.caller_transaction_open(connection):
        transactions.join(connection, task_id, send)
    transaction.on_commit(send, using=connection.alias)
    if row is None:
        return TaskExecution(
            task_id=task_id,
            task_name=task_name,
            module=row_module,
            status=TaskStatus.PENDING,
            task_args=call_args,
            task_kwargs=call_kwargs,
        )
    return row


def queue_for(
    task: Any, task_name: str, args: list[Any], kwargs: dict[str, Any], options: dict[str, Any]
) -> str | None:
    """Return the queue Celery's router will send this call to, or None if it cannot say.

    The same routing ``apply_async`` applies: the call's ``queue`` option, else the task's
    own, else ``task_routes``, else the default queue. A worker's start write keeps this
    value (it only fills a missing queue).
    """
    wanted = dict(options)
    own = getattr(task, "queue", None)
    if own and "queue" not in wanted:
        wanted["queue"] = own
    try:
        routed = task.app.amqp.router.route(wanted, task_name, args, kwargs)
    except Exception:  # an unusual router or app: the row simply has no queue
        logger.debug("agentcore_task could not tell the queue of %s", task_name, exc_info=True)
        return None
    queue = routed.get("queue")
    name = getattr(queue, "name", queue)
    return name[:255] if isinstance(name, str) and name else None


def _record_failed_publish(task_id: str, task_name: str, exc: BaseException) -> None:
    """Mark the row FAILURE: the message never left, so no worker will ever write to it."""
    reason = arguments.first_line(exc)
    logger.error(
        "agentcore_task could not send task %s (%s): %s: %s",
        task_id,
        task_name,
        type(exc).__name__,
        reason,
    )
    update_task_status(
        task_id,
        TaskStatus.FAILURE,
        error=f"Dispatch failed: the message could not be sent ({type(exc).__name__}: {reason})",
    )
