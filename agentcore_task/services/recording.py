"""The failure policy shared by every write: the tracker never breaks the caller's task.

Callers validate their arguments first (a caller's mistake raises ``ValueError``/``TypeError``
before any SQL). What can still go wrong is the recording itself: the database is down, a
statement fails. That is logged as one ERROR line naming the task id and the call returns
None, unless ``AGENTCORE_TASK_STRICT`` asks for the exception.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import TypeVar

from agentcore_task import conf
from agentcore_task.db import write_connection
from agentcore_task.jsonsafe import JSONValue, cap_json_size, to_json_safe

logger = logging.getLogger("agentcore_task")

T = TypeVar("T")


def guarded(action: str, task_id: str, write: Callable[[], T]) -> T | None:
    """Run ``write``; on failure log one line and return None (or raise in strict mode)."""
    try:
        return write()
    except Exception as exc:
        _drop_broken_connection()
        if conf.strict():
            raise
        logger.error(
            "agentcore_task could not %s for task %s: %s: %s",
            action,
            task_id,
            type(exc).__name__,
            str(exc).strip().splitlines()[0] if str(exc).strip() else "",
        )
        logger.debug("agentcore_task %s failure for task %s", action, task_id, exc_info=True)
        return None


def _drop_broken_connection() -> None:
    """Close a connection the failure left unusable, so the next write reconnects.

    A Celery worker has no request cycle to do this, and without it every later write would
    fail with "connection already closed" long after the database came back. Inside the
    caller's transaction the connection is left alone: closing it is the caller's call.
    """
    try:
        connection = write_connection()
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
    except Exception:  # closing a dead connection can fail too; it is already gone then
        logger.debug("agentcore_task could not close a broken connection", exc_info=True)


def json_param(value: object) -> str:
    """Return ``value`` converted, redacted, capped and serialised for a ``%s::jsonb`` parameter."""
    converted = to_json_safe(value, redact_keys=conf.redact_keys())
    max_bytes = conf.max_result_bytes()
    text = _dumps(converted)
    if _fits(text, max_bytes):
        return text
    return _dumps(cap_json_size(converted, max_bytes))


def patch_param(patch: Mapping[str, object]) -> str:
    """Return a metadata patch converted, redacted and serialised, capping each value on its own.

    Capping per key keeps the patch a flat merge of the caller's keys: one oversized value is
    replaced by its truncation marker while its neighbours are stored as given. The common
    case, a patch within the cap as a whole, is serialised once.
    """
    converted = to_json_safe(dict(patch), redact_keys=conf.redact_keys())
    assert isinstance(converted, dict)
    max_bytes = conf.max_result_bytes()
    text = _dumps(converted)
    if _fits(text, max_bytes):
        return text
    return _dumps({key: cap_json_size(value, max_bytes) for key, value in converted.items()})


def _fits(text: str, max_bytes: int) -> bool:
    # A character is at most 4 bytes in UTF-8: most texts are judged without encoding them.
    return len(text) * 4 <= max_bytes or len(text.encode("utf-8")) <= max_bytes


def _dumps(value: JSONValue) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
