"""The failure policy shared by every write: the tracker never breaks the caller's task.

(Also the two JSON parameters of the writes, :func:`json_param` and :func:`patch_param`:
:mod:`agentcore_task.jsonsafe` does the work; they pass it this project's settings.)

Callers validate their arguments first (a caller's mistake raises ``ValueError``/``TypeError``
before any SQL). What can still go wrong is the recording itself: the database is down, a
statement fails. That is logged as one ERROR line naming the task id and the call returns
None, unless ``AGENTCORE_TASK_STRICT`` asks for the exception.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError

from agentcore_task import conf, transactions
from agentcore_task.db import write_connection
from agentcore_task.jsonsafe import encode, encode_patch
from agentcore_task.services.arguments import first_line

logger = logging.getLogger("agentcore_task")

T = TypeVar("T")


def guarded(action: str, task_id: str, write: Callable[[], T]) -> T | None:
    """Run ``write``; on failure log one line and return None (or raise in strict mode).

    A write that failed because the connection was gone (a restarted server, a terminated
    backend, a dropped TCP connection: the statement never ran) is tried once more on a
    fresh connection. When that fails too, the database is taken to be unreachable and
    writes are skipped for ``AGENTCORE_TASK_WRITE_PAUSE_SECONDS`` (one WARNING says so), so a
    server that accepts connections and never answers does not stall every write of every
    task for the full connect timeout.
    """
    global _paused_until
    if time.monotonic() < _paused_until:
        if conf.strict():
            raise DatabaseError(
                "agentcore_task skips writes for a moment: the database was unreachable"
            )
        logger.debug("agentcore_task skipped: %s for task %s (database paused)", action, task_id)
        return None
    try:
        return write()
    except Exception as exc:
        failure: Exception = exc
        _drop_broken_connection()
        if _connection_lost(exc) and _can_retry():
            try:
                return write()
            except Exception as again:
                failure = again
                _drop_broken_connection()
                if _connection_lost(again):
                    _pause_writes()
        if conf.strict():
            raise failure  # noqa: B904  (the first failure, or the retry's chained to it)
        logger.error(
            "agentcore_task could not %s for task %s: %s: %s",
            action,
            task_id,
            type(failure).__name__,
            first_line(failure),
        )
        logger.debug("agentcore_task %s failure for task %s", action, task_id, exc_info=failure)
        return None


_paused_until = 0.0


def _connection_lost(error: BaseException) -> bool:
    """Return whether ``error`` says the connection was gone, not that the statement failed.

    psycopg reports a connection it could not open or that broke as an OperationalError
    without a server error code, or with one of the classes 08 (connection exception) and
    57P (the server shut the session down); a statement the server ran and refused has
    another code.
    """
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    cause = error.__cause__ or error
    code = getattr(cause, "sqlstate", None)
    return code is None or code.startswith(("08", "57P"))


def _can_retry() -> bool:
    """A retry is safe outside a transaction; inside the caller's, writes use their own
    autocommit connection. Only a test case's or a joined transaction cannot be replayed."""
    connection = write_connection()
    return not connection.in_atomic_block or transactions.caller_transaction_open(connection)


def _pause_writes() -> None:
    global _paused_until
    pause = conf.write_pause_seconds()
    if pause <= 0:
        return
    _paused_until = time.monotonic() + pause
    logger.warning("agentcore_task cannot reach the database; skipping its writes for %s s", pause)


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
    """Return ``value`` converted, redacted, capped and serialised for a ``%s::jsonb`` parameter.

    :func:`agentcore_task.jsonsafe.encode` with this project's redaction patterns and cap.
    """
    return encode(value, redact_keys=conf.redact_keys(), max_bytes=conf.max_result_bytes())


def patch_param(patch: Mapping[str, object]) -> str:
    """Return a metadata patch ready for a ``%s::jsonb`` parameter, each value capped alone.

    :func:`agentcore_task.jsonsafe.encode_patch` with this project's redaction and cap.
    """
    return encode_patch(patch, redact_keys=conf.redact_keys(), max_bytes=conf.max_result_bytes())


def warn_if_creator_dropped(row: object, requested_id: int | None, task_id: str) -> None:
    """Log that a creator id named no user, so the row was stored without one."""
    if requested_id is not None and row is not None and getattr(row, "created_by_id", 0) is None:
        logger.warning(
            "agentcore_task recorded task %s without a creator: no user has id %s",
            task_id,
            requested_id,
        )
