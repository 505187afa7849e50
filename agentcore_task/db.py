"""The one module that runs hand-written SQL against the execution table.

Statements come from ``sql/`` by name. Rows come back as ``TaskExecution`` instances built from
the ``RETURNING`` clause, so a write and the read of its outcome are the same statement.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from agentcore_task.sql import query

if TYPE_CHECKING:
    from agentcore_task.models import TaskExecution


def _model() -> type[TaskExecution]:
    from agentcore_task.models import TaskExecution

    return TaskExecution


def write_connection() -> BaseDatabaseWrapper:
    """Return the connection the router picks for writing executions."""
    return connections[router.db_for_write(_model())]


@contextlib.contextmanager
def _isolated(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Run inside a savepoint when the caller has a transaction open.

    A failed statement then rolls back to the savepoint instead of poisoning the caller's
    transaction; in autocommit mode (the usual case in a Celery task) it costs nothing.
    """
    if connection.in_atomic_block:
        with transaction.atomic(using=connection.alias, savepoint=True):
            yield
    else:
        yield


def fetch_execution(name: str, params: Mapping[str, Any]) -> TaskExecution | None:
    """Run the statement ``name`` and return the row it returned, or None when it returned none."""
    connection = write_connection()
    with _isolated(connection), connection.cursor() as cursor:
        cursor.execute(query(name), params)
        row = cursor.fetchone()
        columns = [column.name for column in cursor.description] if row is not None else []
    if row is None:
        return None
    return _instance_from_row(connection, columns, row)


def _instance_from_row(
    connection: BaseDatabaseWrapper, columns: list[str], row: tuple[Any, ...]
) -> TaskExecution:
    """Build a model instance the way the ORM would, including JSON decoding.

    Columns the model does not know (one a DBA added, say) are ignored.
    """
    model = _model()
    by_column = {field.column: field for field in model._meta.concrete_fields}
    values: dict[str, Any] = {}
    for column, value in zip(columns, row, strict=True):
        field = by_column.get(column)
        if field is None:
            continue
        from_db = getattr(field, "from_db_value", None)
        values[field.attname] = (
            from_db(value, None, connection) if from_db is not None else value
        )
    attnames = [field.attname for field in model._meta.concrete_fields]
    return model.from_db(
        connection.alias, attnames, [values.get(attname) for attname in attnames]
    )
