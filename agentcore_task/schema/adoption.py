"""Create the execution table, or adopt the original app's table in place.

A project that ran the original agentcore-task already has ``agentcore_task_execution``
(same name, app label ``agentcore_task_tracker``). Our ``0001_initial`` creates the table
through :class:`CreateOrAdoptModel`: on a fresh database exactly like ``CreateModel``; on the
original's database it turns the existing table into the one ``CreateModel`` would have built,
keeping every row: the original's indexes are replaced by ours, ``updated_at`` is added and
back-filled, defaults, CHECK and the later migrations' trigger follow. Everything runs in the
migration's transaction, so a refusal or a failure leaves the database as it was.

The catalog reads and the row check are in ``sql/adoption.sql``. The DDL stays built here: it
names constraints, indexes and sequences read from the catalog, which need
``schema_editor.quote_name`` (a parameter cannot stand for an identifier), and it goes through
``schema_editor.execute`` so ``sqlmigrate`` shows it.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

from agentcore_task.schema.original import (
    EXECUTION_TABLE,
    OriginalSchemaError,
    is_original_database,
)
from agentcore_task.sql import query
from agentcore_task.status import TaskStatus

__all__ = ["CreateOrAdoptModel", "RowsBreakRules", "refuse_rows_breaking_rules"]

# How many offending rows the error lists (the count covers them all).
LISTED_ROWS = 20


class RowsBreakRules(OriginalSchemaError):
    """Rows of the original's table that our rules refuse; nothing was changed."""


def refuse_rows_breaking_rules(cursor: Any) -> None:
    """Raise :class:`RowsBreakRules` naming every row our rules would refuse.

    The rules: a status among the six, and no ``finished_at`` before ``started_at``. Rows are
    never fixed silently: which status or time is right is the owner's knowledge.
    """
    statuses = list(TaskStatus.values)
    cursor.execute(query("adoption_breaking_rows"), {"statuses": statuses})
    rows = cursor.fetchall()
    if not rows:
        return
    lines = []
    bad_status_ids, bad_time_ids = [], []
    for row_id, task_id, status, started_at, finished_at, bad_status, bad_times in rows:
        if bad_status:
            bad_status_ids.append(row_id)
            problem = f"status {status!r} is not one of {', '.join(statuses)}"
        else:
            bad_time_ids.append(row_id)
            problem = f"finished_at {finished_at.isoformat()} is before started_at " + (
                started_at.isoformat()
            )
        if bad_times and bad_status:
            bad_time_ids.append(row_id)
            problem += "; finished_at is before started_at"
        lines.append(f"  id {row_id} (task_id {task_id!r}): {problem}")
    shown = lines[:LISTED_ROWS]
    if len(lines) > LISTED_ROWS:
        shown.append(f"  … and {len(lines) - LISTED_ROWS} more")
    status_rows = (
        _id_condition(bad_status_ids)
        or f"status NOT IN ({', '.join(repr(status) for status in statuses)})"
    )
    time_rows = _id_condition(bad_time_ids) or "finished_at < started_at"
    fixes = []
    if bad_status_ids:
        fixes.append(
            f"  UPDATE {EXECUTION_TABLE} SET status = 'FAILURE' WHERE {status_rows};"
            "  -- or the status each run really ended with"
        )
    if bad_time_ids:
        fixes.append(
            f"  UPDATE {EXECUTION_TABLE} SET finished_at = started_at WHERE {time_rows};"
            "  -- or the real times"
        )
    raise RowsBreakRules(
        f"agentcore_task cannot adopt {EXECUTION_TABLE}: {len(rows)} row(s) break its rules, "
        "and nothing was changed:\n"
        + "\n".join(shown)
        + "\nFix them (or delete them), then run migrate again, for example:\n"
        + "\n".join(fixes)
        + "\nSee docs/upgrading.md, 'Rows that stop the upgrade'."
    )


def _id_condition(ids: list[int]) -> str:
    """``id IN (…)`` for a few rows; empty for many (the caller names them by condition)."""
    if not ids or len(ids) > LISTED_ROWS:
        return ""
    return f"id IN ({', '.join(str(number) for number in ids)})"


def _quote(schema_editor: Any, name: str) -> str:
    return str(schema_editor.quote_name(name))


def _drop_original_indexes(schema_editor: Any, cursor: Any, table: str) -> None:
    """Drop every constraint but the primary and foreign keys, and every other index."""
    quoted = _quote(schema_editor, table)
    cursor.execute(query("adoption_other_constraints"), {"table": table})
    for (name,) in cursor.fetchall():
        schema_editor.execute(f"ALTER TABLE {quoted} DROP CONSTRAINT {_quote(schema_editor, name)}")
    cursor.execute(query("adoption_other_indexes"), {"table": table})
    for (name,) in cursor.fetchall():
        schema_editor.execute(f"DROP INDEX {name}")


def _rename_to_fresh_names(schema_editor: Any, cursor: Any, model: Any) -> None:
    """Give the primary key, its sequence and the foreign key the names a fresh table has."""
    table = model._meta.db_table
    quoted = _quote(schema_editor, table)
    cursor.execute(query("adoption_primary_key"), {"table": table})
    (primary_key,) = cursor.fetchone()
    if primary_key != f"{table}_pkey":
        schema_editor.execute(
            f"ALTER TABLE {quoted} RENAME CONSTRAINT {_quote(schema_editor, primary_key)}"
            f" TO {_quote(schema_editor, table + '_pkey')}"
        )
    cursor.execute(query("adoption_id_sequence"), {"table": table})
    (sequence,) = cursor.fetchone()
    if sequence.split(".")[-1].strip('"') != f"{table}_id_seq":
        schema_editor.execute(
            f"ALTER SEQUENCE {sequence} RENAME TO {_quote(schema_editor, table + '_id_seq')}"
        )
    field = model._meta.get_field("created_by")
    fresh = str(schema_editor._fk_constraint_name(model, field, "_fk_%(to_table)s_%(to_column)s"))
    cursor.execute(query("adoption_foreign_keys"), {"table": table})
    for (name,) in cursor.fetchall():
        if name != fresh.strip('"'):
            schema_editor.execute(
                f"ALTER TABLE {quoted} RENAME CONSTRAINT {_quote(schema_editor, name)} TO {fresh}"
            )


def _add_columns_and_defaults(schema_editor: Any, model: Any) -> None:
    """Add ``updated_at``, fill what the original allowed to be NULL, set our defaults.

    One ``ALTER TABLE`` with ``USING`` rewrites the table once (no dead row versions, unlike
    an UPDATE of every row): ``updated_at`` becomes the row's last timestamp, NULL arguments
    the empty array/object our columns default to.
    """
    quoted = _quote(schema_editor, model._meta.db_table)
    schema_editor.execute(f"ALTER TABLE {quoted} ADD COLUMN updated_at timestamp with time zone")
    schema_editor.execute(
        f"ALTER TABLE {quoted}"
        " ALTER COLUMN updated_at TYPE timestamp with time zone"
        " USING greatest(created_at, started_at, finished_at),"
        " ALTER COLUMN task_args TYPE jsonb USING coalesce(task_args, '[]'::jsonb),"
        " ALTER COLUMN task_kwargs TYPE jsonb USING coalesce(task_kwargs, '{}'::jsonb),"
        " ALTER COLUMN updated_at SET NOT NULL,"
        " ALTER COLUMN task_args SET NOT NULL,"
        " ALTER COLUMN task_kwargs SET NOT NULL"
    )
    for field in model._meta.local_concrete_fields:
        if field.has_db_default():
            sql, params = schema_editor.db_default_sql(field)
            schema_editor.execute(
                f"ALTER TABLE {quoted} ALTER COLUMN {_quote(schema_editor, field.column)}"
                f" SET DEFAULT {sql}",
                params,
            )


def adopt_original_table(schema_editor: Any, model: Any) -> None:
    """Turn the original's table into the one ``CreateModel`` builds for ``model``, in place."""
    table = model._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        # Locked first, so that no writer slips in between the check and the rewrite.
        schema_editor.execute(f"LOCK TABLE {_quote(schema_editor, table)} IN ACCESS EXCLUSIVE MODE")
        refuse_rows_breaking_rules(cursor)
        _drop_original_indexes(schema_editor, cursor, table)
        _rename_to_fresh_names(schema_editor, cursor, model)
        _add_columns_and_defaults(schema_editor, model)
        for index in model._meta.indexes:
            schema_editor.add_index(model, index)
        for constraint in model._meta.constraints:
            schema_editor.add_constraint(model, constraint)
        if model._meta.db_table_comment:
            schema_editor.alter_db_table_comment(model, None, model._meta.db_table_comment)
        schema_editor.execute(query("adoption_continue_identity"))


class CreateOrAdoptModel(migrations.CreateModel):
    """``CreateModel``, except that it adopts the original agentcore-task's table in place.

    The migration state is the same either way; only the database work differs.
    """

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        model = to_state.apps.get_model(app_label, self.name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        with schema_editor.connection.cursor() as cursor:
            adopt = is_original_database(cursor)
        if adopt:
            adopt_original_table(schema_editor, model)
        else:
            super().database_forwards(app_label, schema_editor, from_state, to_state)
