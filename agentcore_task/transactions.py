"""Which connection a write uses: the caller's, or one of our own outside the caller's transaction.

The row is a side record. Written inside the caller's ``transaction.atomic()`` (or under
``ATOMIC_REQUESTS``) it would be invisible until the caller commits and gone if the caller
rolls back, although the Celery message may already be on its way; and an INSERT holds its
unique key until that commit, so the worker's first write for the task waits on it. So while
the caller has a transaction open, writes go through a second connection of this thread, in
autocommit mode, and are visible at once whatever the caller does next.

Two exceptions keep the caller's connection:

* the rows :func:`agentcore_task.services.dispatch.dispatch` inserted in the open transaction
  (it joins the transaction on purpose, because it also sends the message only on commit):
  a write for such an id must see the uncommitted row. :func:`join` records them.
* a write that would wait for a row lock held by the caller's own transaction (it updated the
  row itself): our connection gives up after :data:`LOCK_TIMEOUT_MS`, and when the row's
  version shows the caller's transaction id the write runs in a savepoint of the caller's
  transaction instead, rather than waiting on itself forever (later writes for that id go
  there at once). A row another session holds is waited for, as any write would.

The atomic blocks a Django test case opens around each test are not the caller's transaction:
a test using plain ``django_db`` sees its writes in its own transaction, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

LOCK_TIMEOUT_MS = 2000
"""How long our own connection waits for a row lock before writing in the caller's instead."""

_JOINED_ATTRIBUTE = "_agentcore_task_joined"
_own = threading.local()


def caller_transaction_open(connection: BaseDatabaseWrapper) -> bool:
    """Return whether the caller holds a transaction open on ``connection``.

    Blocks opened by Django's test cases around a test (``_from_testcase``) do not count.
    """
    if not connection.in_atomic_block:
        return False
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def join(connection: BaseDatabaseWrapper, task_id: str, on_commit: Callable[[], None]) -> None:
    """Record that ``task_id``'s row was inserted in the caller's open transaction.

    ``on_commit`` is the callback the inserter registered with ``transaction.on_commit``:
    while Django still holds it, the transaction (or savepoint) that inserted the row is
    open; once it ran (commit) or was discarded (rollback), the row is committed or gone.
    """
    joined: list[tuple[Callable[[], None], str]] = getattr(connection, _JOINED_ATTRIBUTE, [])
    joined.append((on_commit, task_id))
    setattr(connection, _JOINED_ATTRIBUTE, joined)


def _joined_ids(connection: BaseDatabaseWrapper) -> set[str]:
    joined: list[tuple[Callable[[], None], str]] = getattr(connection, _JOINED_ATTRIBUTE, [])
    if not joined:
        return set()
    pending = {id(entry[1]) for entry in connection.run_on_commit}
    alive = [(callback, task_id) for callback, task_id in joined if id(callback) in pending]
    setattr(connection, _JOINED_ATTRIBUTE, alive)
    return {task_id for _callback, task_id in alive}


def use_own_connection(connection: BaseDatabaseWrapper, task_id: object) -> bool:
    """Return whether a write for ``task_id`` should leave the caller's transaction."""
    return caller_transaction_open(connection) and task_id not in _joined_ids(connection)


def own_connection(connection: BaseDatabaseWrapper) -> BaseDatabaseWrapper:
    """Return this thread's autocommit connection to ``connection``'s database.

    Made on first use per thread and alias, from the same settings, and kept like a
    persistent connection. It is not in ``django.db.connections``, so Django's request
    cycle does not close it; one that broke is closed by :func:`discard_if_broken` and
    reconnects on the next write.
    """
    cache: dict[str, BaseDatabaseWrapper] = getattr(_own, "connections", None) or {}
    _own.connections = cache
    own = cache.get(connection.alias)
    if own is None or own.settings_dict is not connection.settings_dict:
        own = cache[connection.alias] = type(connection)(connection.settings_dict, connection.alias)
    if own.connection is None:
        own.ensure_connection()
        with own.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
    return own


def discard_if_broken(connection: BaseDatabaseWrapper) -> None:
    """Close our own connection of this alias when a failure left it unusable.

    Only when it is unusable: its age (``CONN_MAX_AGE``) is for the request boundaries to
    judge, and a statement refused for a lock timeout leaves it perfectly usable.
    """
    cache: dict[str, BaseDatabaseWrapper] = getattr(_own, "connections", None) or {}
    own = cache.get(connection.alias)
    if own is not None and own.connection is not None and not own.is_usable():
        own.close()


@contextmanager
def without_lock_timeout(own: BaseDatabaseWrapper) -> Iterator[None]:
    """Let one statement of our own connection wait for a row lock as long as it takes.

    For a row another session holds (not the caller's own transaction, which would make the
    wait endless): the write then behaves as any write to that row would.
    """
    with own.cursor() as cursor:
        cursor.execute("SET lock_timeout = 0")
    try:
        yield
    finally:
        with own.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")


def remember_held_by_caller(connection: BaseDatabaseWrapper, task_id: str) -> None:
    """Send this id's writes to the caller's transaction until it ends: it holds the row."""

    def transaction_ended() -> None:
        """A marker: Django drops it when the transaction ends (runs it on commit)."""

    transaction.on_commit(transaction_ended, using=connection.alias)
    join(connection, task_id, transaction_ended)


def close_own_connections(**_: Any) -> None:
    """Close this thread's own connections that are broken or past ``CONN_MAX_AGE``.

    Connected to Django's ``request_started``/``request_finished`` signals (``apps.py``), so
    they live exactly as long as Django's own connections do: with the default
    ``CONN_MAX_AGE = 0`` they close at the end of each request.
    """
    for own in (getattr(_own, "connections", None) or {}).values():
        own.close_if_unusable_or_obsolete()


def close_all_own_connections() -> None:
    """Close every own connection of this thread, e.g. before a test database is dropped."""
    for own in (getattr(_own, "connections", None) or {}).values():
        own.close()


def is_lock_timeout(error: BaseException) -> bool:
    """Return whether ``error`` is PostgreSQL's lock_not_available (55P03)."""
    cause: Any = error.__cause__ or error
    return getattr(cause, "sqlstate", None) == "55P03"
