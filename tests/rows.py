"""Rows with backdated times, written the way a DBA repairing or importing rows would.

The status trigger stamps ``started_at``, ``finished_at`` and ``updated_at`` itself and
ignores values a writer supplies. Tests of age-based jobs need old times, so they lift the
rules for one statement with ``agentcore_task.override_rules``, the documented escape hatch,
and put them back at once (a test's transaction outlives the statement).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction


@contextmanager
def rules_lifted() -> Iterator[None]:
    """Lift the status trigger's rules for what the block writes, and only for it."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('agentcore_task.override_rules', 'on', true)")
        try:
            yield
        finally:
            cursor.execute("SELECT set_config('agentcore_task.override_rules', 'off', true)")


def execute_with_rules_lifted(sql: str, params: list[Any]) -> Any:
    """Run one statement with the status trigger's rules lifted; return its first row."""
    with rules_lifted(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() if cursor.description else None


def backdate(
    pk: int,
    *,
    created_ago: dt.timedelta | None = None,
    started_ago: dt.timedelta | None = None,
    silent_for: dt.timedelta | None = None,
    status: str | None = None,
) -> None:
    """Move a row's times into the past: ``silent_for`` is the age of its last write.

    Without ``silent_for`` the row's heartbeat is its start (or its creation): a row that has
    not been written since.
    """
    heartbeat = silent_for if silent_for is not None else started_ago or created_ago
    execute_with_rules_lifted(
        """
        UPDATE agentcore_task_execution
        SET status = COALESCE(%s, status),
            created_at = COALESCE(now() - %s::interval, created_at),
            started_at = CASE WHEN %s::interval IS NULL THEN started_at
                              ELSE now() - %s::interval END,
            updated_at = COALESCE(now() - %s::interval, updated_at)
        WHERE id = %s
        """,
        [status, created_ago, started_ago, started_ago, heartbeat, pk],
    )
