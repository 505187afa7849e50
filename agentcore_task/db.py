"""The one module that runs hand-written SQL against the execution table.

Statements come from ``sql/`` by name. Rows come back as ``TaskExecution`` instances built from
the ``RETURNING`` clause, so a write and the read of its outcome are the same statement.

Progress updates are the hot path (many per task, from many workers), so this module keeps
its per-call work small; ``bench/progress_updates.py`` measures it against a raw psycopg loop.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet

from agentcore_task import transactions
from agentcore_task.sql import query

if TYPE_CHECKING:
    from agentcore_task.models import TaskExecution


def _model() -> type[TaskExecution]:
    # At call time: the write services import this module and must stay importable before
    # django.setup() (a task module may create a TaskLogCollector at import).
    from agentcore_task.models import TaskExecution

    return TaskExecution


def write_connection() -> BaseDatabaseWrapper:
    """Return the connection the router picks for writing executions."""
    return connections[router.db_for_write(_model())]


# One server-binding cursor per live psycopg connection, reused across calls.
_CURSORS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _cursor(connection: BaseDatabaseWrapper) -> Any:
    """Return a Django-wrapped cursor that sends parameters separately from the statement.

    Django's default psycopg 3 cursor binds on the client: it quotes every parameter into the
    SQL text in Python, which costs more than the database's work on a progress update.
    Server-side binding sends them in the protocol instead. The psycopg cursor is created
    once per connection; the Django wrapper around it (query logging, execute wrappers,
    error translation) is made per call, as ``connection.cursor()`` would. Prepared
    statements still follow the project's ``prepare_threshold`` (off by default, for poolers).
    """
    from django.db.backends.postgresql.base import ServerBindingCursor

    cursor_class: Any = ServerBindingCursor  # a psycopg class; the stubs describe Django's
    connection.ensure_connection()
    raw_connection = connection.connection
    cursor = _CURSORS.get(raw_connection)
    if cursor is None or cursor.closed:
        cursor = _CURSORS[raw_connection] = cursor_class(raw_connection)
    connection.validate_thread_sharing()
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


_COLUMN_NAMES: dict[tuple[bytes | None, ...], list[str]] = {}


def _column_names(cursor: Any) -> list[str]:
    """Return the result's column names.

    ``cursor.description`` builds a Column object per column on every call; the raw names
    from libpq are cheap and map to a cached list.
    """
    result = cursor.pgresult
    raw = tuple(result.fname(index) for index in range(result.nfields))
    names = _COLUMN_NAMES.get(raw)
    if names is None:
        names = _COLUMN_NAMES[raw] = [name.decode() if name else "" for name in raw]
    return names


# Returned by updates: everything but the payload columns, which can be large (a metadata
# document with a log list, a result) and which callers of a progress update rarely read.
PAYLOAD_COLUMNS = frozenset(
    {"task_args", "task_kwargs", "result", "error", "traceback", "metadata", "status_history"}
)


USER_TABLE = "{user_table}"
"""Placeholder in ``sql/`` for the table of ``AUTH_USER_MODEL``, which each project chooses."""


@functools.cache
def _statement(name: str) -> str:
    """Return the statement ``name`` with the project's user table filled in."""
    text = query(name)
    if USER_TABLE in text:
        users = _model()._meta.get_field("created_by").related_model
        text = text.replace(USER_TABLE, connections["default"].ops.quote_name(users._meta.db_table))
    return text


@functools.cache
def _returning(full_row: bool) -> str:
    if full_row:
        return " RETURNING *"
    columns = [
        field.column
        for field in _model()._meta.concrete_fields
        if field.column and field.column not in PAYLOAD_COLUMNS
    ]
    return " RETURNING " + ", ".join(f'"{column}"' for column in columns)


def _fetch(
    connection: BaseDatabaseWrapper, name: str, params: Mapping[str, Any], full_row: bool
) -> Any:
    cursor = _cursor(connection)
    cursor.execute(_statement(name) + _returning(full_row), params)
    row = cursor.fetchone()
    if row is None:
        return None
    return _instance_from_row(connection, _column_names(cursor), row)


def fetch_execution(
    name: str, params: Mapping[str, Any], *, full_row: bool = True, join: bool = False
) -> TaskExecution | None:
    """Run the statement ``name`` and return the row it wrote, or None when it wrote none.

    With ``full_row=False`` the payload columns (:data:`PAYLOAD_COLUMNS`) are not sent back:
    they are deferred on the instance, Django-style, and load on first access.

    Outside a transaction (the usual case in a Celery task) the statement runs in autocommit
    mode on the router's connection. While the caller holds a transaction open, it runs on
    this thread's own autocommit connection instead (see :mod:`agentcore_task.transactions`
    for why and for the exceptions), unless ``join`` asks to write inside the caller's
    transaction, in a savepoint, so that a failure rolls back only the savepoint.
    """
    connection = write_connection()
    task_id = params.get("task_id")
    if not join and transactions.use_own_connection(connection, task_id):
        own = transactions.own_connection(connection)
        try:
            return _fetch(own, name, params, full_row)
        except DatabaseError as error:
            transactions.discard_if_broken(connection)
            if not transactions.is_lock_timeout(error):
                raise
        if not _row_held_by_caller(connection, task_id):
            # Another session holds the row for now: wait for it, as any write would.
            with transactions.without_lock_timeout(own):
                return _fetch(own, name, params, full_row)
        # The caller's own transaction holds the row: write where it can be seen, and send
        # this id's later writes there at once rather than after another lock timeout.
        transactions.remember_held_by_caller(connection, str(task_id))
    if connection.in_atomic_block:
        with transaction.atomic(using=connection.alias, savepoint=True):
            return _fetch(connection, name, params, full_row)
    return _fetch(connection, name, params, full_row)


def _row_held_by_caller(connection: BaseDatabaseWrapper, task_id: object) -> bool:
    """Tell whether the caller's open transaction wrote or locked ``task_id``'s row."""
    with transaction.atomic(using=connection.alias, savepoint=True):
        cursor = _cursor(connection)
        cursor.execute(_statement("row_held_by_this_transaction"), {"task_id": task_id})
        row = cursor.fetchone()
    return bool(row and row[0])


def fetch_row(name: str, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Run the statement ``name`` as written and return its first row (None: it had none).

    For statements whose answer is a few scalars (counts, a cutoff), not an execution row.
    Inside a transaction the caller opened it runs in a savepoint, as :func:`fetch_execution`.
    """
    rows = _run(name, params, many=False)
    return rows[0] if rows else None


def fetch_rows(name: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run the statement ``name`` as written and return all its rows, as :func:`fetch_row`."""
    return _run(name, params, many=True)


def _run(name: str, params: Mapping[str, Any], *, many: bool) -> list[tuple[Any, ...]]:
    connection = write_connection()

    def run() -> list[tuple[Any, ...]]:
        cursor = _cursor(connection)
        cursor.execute(_statement(name), params)
        if many:
            return [tuple(row) for row in cursor.fetchall()]
        row = cursor.fetchone()
        return [] if row is None else [tuple(row)]

    if connection.in_atomic_block:
        with transaction.atomic(using=connection.alias, savepoint=True):
            return run()
    return run()


_NAMED_PARAMETER = re.compile(r"%\(([a-z_][a-z0-9_]*)\)s")


def fetch_rows_of_queryset(
    name: str, params: Mapping[str, Any], queryset: QuerySet[Any], *, placeholder: str
) -> list[tuple[Any, ...]]:
    """Run the statement ``name`` around ``queryset``'s SQL, put where ``placeholder`` stands.

    The statement is written with named parameters; the ORM compiles the queryset with
    positional ones. So our own statement (never the compiled SQL) is turned positional, and
    the parameters line up: the statement's before the placeholder, the queryset's, the
    statement's after it. The queryset keeps every filter a WHERE clause its indexes serve.
    """
    before, found, after = _statement(name).partition(placeholder)
    if not found or placeholder in after:
        raise ValueError(f"statement {name!r} must hold {placeholder} exactly once")
    try:
        inner, inner_params = queryset.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:  # e.g. .none(): the same columns, and no row
        columns = queryset.query.values_select
        every = queryset.model._base_manager.values_list(*columns).query
        inner, inner_params = every.get_compiler(using=queryset.db).as_sql()
        inner = f"SELECT * FROM ({inner}) AS no_rows WHERE false"
    parts, values = [], []
    for part in (before, None, after):
        if part is None:
            parts.append(inner)
            values.extend(inner_params)
            continue
        values.extend(params[match] for match in _NAMED_PARAMETER.findall(part))
        parts.append(_NAMED_PARAMETER.sub("%s", part))
    with connections[queryset.db].cursor() as cursor:
        cursor.execute("".join(parts), values)
        return [tuple(row) for row in cursor.fetchall()]


def _instance_from_row(
    connection: BaseDatabaseWrapper, columns: list[str], row: tuple[Any, ...]
) -> TaskExecution:
    """Build a model instance the way the ORM would, including JSON decoding.

    Fields whose column was not returned are deferred; columns the model does not know (one
    a DBA added, say) are ignored.
    """
    model = _model()
    by_column = _fields_by_column(model)
    returned: dict[str, Any] = {}
    for column, value in zip(columns, row, strict=True):
        field = by_column.get(column)
        if field is None:
            continue
        from_db = getattr(field, "from_db_value", None)
        returned[field.attname] = from_db(value, None, connection) if from_db is not None else value
    # from_db wants the values in the model's field order, whatever the table's column order.
    attnames = [field.attname for field in model._meta.concrete_fields if field.attname in returned]
    return model.from_db(connection.alias, attnames, [returned[name] for name in attnames])


def _fields_by_column(model: type[TaskExecution]) -> dict[str, Any]:
    return {field.column: field for field in model._meta.concrete_fields if field.column}
