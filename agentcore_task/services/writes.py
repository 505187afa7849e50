"""The write verbs on execution rows. Every write is one UPDATE … RETURNING.

Metadata is merged inside the statement (``metadata = metadata || patch``), never read into
Python, changed and saved back: concurrent progress updates from many workers cannot lose
each other's keys.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from agentcore_task import conf
from agentcore_task.db import fetch_execution
from agentcore_task.jsonsafe import REDACTED, mask_credentials, truncate_text
from agentcore_task.services import arguments, running_task
from agentcore_task.services.recording import guarded, json_param, patch_param
from agentcore_task.services.throttle import throttle
from agentcore_task.status import TaskStatus

if TYPE_CHECKING:
    from agentcore_task.models import TaskExecution

logger = logging.getLogger("agentcore_task")

PROGRESS_PERCENT = "progress_percent"
PROGRESS_MESSAGE = "progress_message"
PROGRESS_STEP = "progress_step"


def _validate_percent(percent: object) -> int:
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise ValueError(f"percent must be an int from 0 to 100, got {percent!r}")
    return percent


def _stored_text(text: str | None, max_chars: int) -> str | None:
    """Prepare error or traceback text: URL credentials masked (unless redaction is off), capped.

    Masking comes first, so the cap never cuts a URL in half and leaves its password behind.
    """
    if text is not None and conf.redact_keys():
        text = mask_credentials(text)
    return truncate_text(text, max_chars)


def _write(
    action: str, task_id: str, statement: str, params: dict[str, Any], *, create: bool = True
) -> Any:
    """Run one write under the failure policy, never losing it to a late registration.

    When no row has ``task_id`` yet and the write comes from that very task, running here,
    the row is created from the task's request and the write applied to it. Otherwise an
    unknown task id is logged at WARNING and nothing is written.
    """

    def run() -> TaskExecution | None:
        row = fetch_execution(statement, params, full_row=False)
        if row is None and create and running_task.create_row_for_running_task(task_id):
            row = fetch_execution(statement, params, full_row=False)
        if row is None and create:
            logger.warning(
                "agentcore_task: no execution with task id %s to %s (register it first, or "
                "use dispatch())",
                task_id,
                action,
            )
        return row

    return guarded(action, task_id, run)


def update_task_status(
    task_id: str,
    status: str,
    result: Any = None,
    error: str | BaseException | None = None,
    traceback: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> TaskExecution | None:
    """Set the status and merge ``metadata`` into the row, in one statement.

    The database applies the status rules: it stamps ``started_at``/``finished_at`` and
    keeps a terminal status when a late non-terminal status arrives (the rest of the update
    still applies).

    Args:
        task_id: the Celery task id.
        status: a ``TaskStatus`` value.
        result: the task's return value (made JSON-safe and capped); None leaves it alone.
        error: error message, or the exception itself; None leaves it alone.
        traceback: traceback text (capped); None leaves it alone.
        metadata: keys merged into the row's metadata; other keys are kept.

    Returns:
        The updated row; None for an unknown task id or when recording failed (logged).

    Raises:
        TypeError, ValueError: a bad argument, before anything is written.
    """
    task_id = arguments.require_task_id(task_id)
    max_chars = conf.max_traceback_chars()
    patch = arguments.optional_mapping("metadata", metadata) or {}
    error_text = arguments.optional_text("error", error)
    traceback_text = arguments.optional_text("traceback", traceback)
    params = {
        "task_id": task_id,
        "status": TaskStatus.validate(status),
        "set_result": result is not None,
        "result": json_param(result) if result is not None else None,
        "error": _stored_text(error_text, max_chars),
        "traceback": _stored_text(traceback_text, max_chars),
    }
    held = throttle.release(task_id)  # progress held back by PROGRESS_MIN_INTERVAL goes first
    params["metadata"] = patch_param({**held, **patch} if held else patch)
    return _write(f"set status {params['status']}", task_id, "update_status", params)


def update_progress(
    task_id: str,
    percent: int | None = None,
    message: str | None = None,
    step: str | None = None,
    **extra: Any,
) -> TaskExecution | None:
    """Merge the progress keys (and any ``extra`` keys) into the row's metadata.

    Writes ``progress_percent``, ``progress_message`` and ``progress_step`` — only those
    given — so a front-end can show "Step X: message (Y%)". The status is not touched.

    With ``AGENTCORE_TASK_PROGRESS_MIN_INTERVAL`` set, a call less than that many seconds
    after this process last wrote this execution's progress is held back and returns None;
    the held keys are written by the next call after the interval, the next status write,
    or :func:`flush_progress` at the end of the task.

    Raises:
        ValueError: ``percent`` is not an int from 0 to 100.
        TypeError: ``message`` or ``step`` is not a str.
    """
    task_id = arguments.require_task_id(task_id)
    patch: dict[str, Any] = dict(extra)
    if percent is not None:
        patch[PROGRESS_PERCENT] = _validate_percent(percent)
    for key, value in ((PROGRESS_MESSAGE, message), (PROGRESS_STEP, step)):
        if value is not None:
            if not isinstance(value, str):
                raise TypeError(f"{key.removeprefix('progress_')} must be a str")
            patch[key] = value
    if not patch:
        raise ValueError("update_progress needs percent, message, step or an extra key")
    interval = conf.progress_min_interval()
    if interval > 0:
        admitted = throttle.admit(task_id, patch, interval)
        if admitted is None:
            return None
        patch = admitted
    params = {"task_id": task_id, "metadata": patch_param(patch)}
    return _write("record progress", task_id, "merge_metadata", params)


def flush_progress(task_id: str) -> TaskExecution | None:
    """Write the progress ``update_progress`` held back for ``task_id``, if any.

    Auto-tracking calls it when a task ends; a task recorded by hand that ends without a
    status write can call it itself. Returns None when nothing was held.
    """
    held = throttle.release(arguments.require_task_id(task_id))
    if not held:
        return None
    params = {"task_id": task_id, "metadata": patch_param(held)}
    return _write("record progress", task_id, "merge_metadata", params)


def append_metadata(
    task_id: str,
    key: str,
    items: list[Any] | tuple[Any, ...],
    *,
    max_items: int | None = None,
) -> TaskExecution | None:
    """Append ``items`` to the list under ``metadata[key]``, inside the UPDATE.

    The list is never read into Python or re-sent: concurrent appends from several workers
    all land. Only the newest ``max_items`` are kept (``AGENTCORE_TASK_METADATA_LIST_MAX_ITEMS``
    by default), so a chatty task cannot grow its row without bound.

    Raises:
        TypeError, ValueError: a bad key, items or max_items.
    """
    task_id = arguments.require_task_id(task_id)
    key = arguments.require_label("key", key, 255)
    values = arguments.optional_sequence("items", items)
    if values is None:
        raise TypeError("items must be a list or tuple, not None")
    limit = conf.metadata_list_max_items() if max_items is None else max_items
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"max_items must be a positive int, got {limit!r}")
    if conf.redact_keys().is_secret(key):
        values = [REDACTED] * len(values)
    params = {
        "task_id": task_id,
        "key": key,
        "items": json_param(values),
        "max_items": limit,
    }
    return _write(f"append to metadata[{key!r}]", task_id, "append_metadata", params)


SKIPPED = "skipped"
SKIP_REASON = "skip_reason"


def mark_skipped(
    task_id: str, *, reason: str, message: str | None, create: bool
) -> TaskExecution | None:
    """Record that a run was skipped (``@prevent_duplicate_task``): REVOKED, with the reason.

    ``metadata`` gains ``skipped: true`` and ``skip_reason``; ``error`` holds ``message``.
    With ``create=False`` only an existing row is marked.
    """
    params = {
        "task_id": arguments.require_task_id(task_id),
        "status": TaskStatus.REVOKED.value,
        "set_result": False,
        "result": None,
        "error": _stored_text(message, conf.max_traceback_chars()),
        "traceback": None,
        "metadata": patch_param({SKIPPED: True, SKIP_REASON: reason}),
    }
    return _write("record the skipped run", task_id, "update_status", params, create=create)
