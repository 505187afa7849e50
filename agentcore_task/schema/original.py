"""What a database that ran the original agentcore-task (app label ``agentcore_task_tracker``)
looks like, and how to recognise one.

The original shared our table name, ``agentcore_task_execution``; its migration history is in
``django_migrations`` under its own label, and it kept its settings as key/value rows in
``agentcore_task_config``.
"""

from __future__ import annotations

from typing import Any

from agentcore_task.sql import query

ORIGINAL_APP_LABEL = "agentcore_task_tracker"
EXECUTION_TABLE = "agentcore_task_execution"
ORIGINAL_CONFIG_TABLE = "agentcore_task_config"
# The original's migration that gave the table our name (before it, agentcore_task_tracker_…).
ORIGINAL_RENAME_MIGRATION = "0002_rename_execution_table"

# The columns the original's 0001-0004 built, with PostgreSQL's type names.
ORIGINAL_COLUMNS = {
    "id": "bigint",
    "task_id": "character varying",
    "task_name": "character varying",
    "module": "character varying",
    "status": "character varying",
    "created_at": "timestamp with time zone",
    "started_at": "timestamp with time zone",
    "finished_at": "timestamp with time zone",
    "task_args": "jsonb",
    "task_kwargs": "jsonb",
    "result": "jsonb",
    "error": "text",
    "traceback": "text",
    "metadata": "jsonb",
    "created_by_id": "integer",
}


class OriginalSchemaError(RuntimeError):
    """The database holds something that is neither a fresh database nor the original's."""


def table_exists(cursor: Any, table: str) -> bool:
    """Return whether ``table`` exists in the current search path."""
    cursor.execute(query("adoption_table_exists"), {"table": table})
    return bool(cursor.fetchone()[0])


def original_migrations(cursor: Any) -> set[str]:
    """Return the names of the original's applied migrations (empty on other databases)."""
    if not table_exists(cursor, "django_migrations"):
        return set()
    cursor.execute(query("adoption_original_migrations"), {"app": ORIGINAL_APP_LABEL})
    return {row[0] for row in cursor.fetchall()}


def is_original_database(cursor: Any) -> bool:
    """Return whether ``agentcore_task_execution`` is the original's table, to be adopted.

    Raises:
        OriginalSchemaError: the table exists but no known history explains it, or it has
            columns the original never had, or the original stopped before its rename (its
            rows elsewhere): nothing is guessed or changed then.
    """
    applied = original_migrations(cursor)
    if not table_exists(cursor, EXECUTION_TABLE):
        if applied and ORIGINAL_RENAME_MIGRATION not in applied:
            # Its rows are still under the table name of its 0001: a fresh table beside them
            # would look like an upgrade that lost every row.
            raise OriginalSchemaError(
                f"django_migrations shows the original agentcore-task's {sorted(applied)} but "
                f"not {ORIGINAL_RENAME_MIGRATION}, so its rows are still in the table its "
                f"0001_initial made, not in {EXECUTION_TABLE}. With the original app still "
                f"installed, run: python manage.py migrate {ORIGINAL_APP_LABEL}; then switch to "
                "agentcore_task and run migrate again (docs/upgrading.md)."
            )
        return False
    if ORIGINAL_RENAME_MIGRATION not in applied:
        raise OriginalSchemaError(
            f"table {EXECUTION_TABLE} already exists, but django_migrations has no "
            f"{ORIGINAL_APP_LABEL} {ORIGINAL_RENAME_MIGRATION}: it was not made by the original "
            "agentcore-task (or by an older version of it), so agentcore_task will not adopt "
            "it. Rename or drop the table, or upgrade the original app first "
            "(docs/upgrading.md)."
        )
    cursor.execute(query("adoption_original_columns"), {"table": EXECUTION_TABLE})
    columns = dict(cursor.fetchall())
    if columns != ORIGINAL_COLUMNS:
        missing = sorted(set(ORIGINAL_COLUMNS) - set(columns))
        extra = sorted(set(columns) - set(ORIGINAL_COLUMNS))
        changed = sorted(
            name
            for name in set(columns) & set(ORIGINAL_COLUMNS)
            if columns[name] != ORIGINAL_COLUMNS[name]
        )
        raise OriginalSchemaError(
            f"{EXECUTION_TABLE} does not have the original's columns (missing: {missing}, "
            f"unexpected: {extra}, other type: {changed}); agentcore_task adopts only the "
            "table the original's migrations 0001-0004 built (docs/upgrading.md)."
        )
    return True
