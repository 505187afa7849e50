"""This process's copy of the overrides row, kept for ``AGENTCORE_TASK_CONFIG_CACHE_SECONDS``.

The periodic jobs and the API read these values far more often than anyone changes them, so
the row is cached per process (0 turns the cache off). Reads inside a transaction are served
from the cache but never stored in it: they may see the transaction's own uncommitted write,
which must not outlive a rollback. A database that cannot be read (no table before
``migrate``, the server down) yields "no overrides" with one WARNING; in autocommit mode that
answer is cached like any other, so a dead database costs one attempt per cache period.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Mapping

from django.db import DatabaseError, connections, router, transaction

from agentcore_task import conf
from agentcore_task.exceptions import first_line
from agentcore_task.models import TaskRuntimeConfig
from agentcore_task.runtime_config.fields import FIELDS, Value

__all__ = ["NO_OVERRIDES", "Overrides", "clear_cache", "overrides"]

logger = logging.getLogger("agentcore_task")


@dataclasses.dataclass(frozen=True)
class Overrides:
    """The stored row, as plain values (safe to share between threads)."""

    values: Mapping[str, Value | None]
    updated_at: dt.datetime | None = None
    updated_by_id: int | None = None
    updated_by_username: str | None = None


NO_OVERRIDES = Overrides(values={})

_lock = threading.Lock()
_cached: tuple[float, Overrides] | None = None


def clear_cache() -> None:
    """Forget this process's cached overrides: the next read goes to the database."""
    global _cached
    with _lock:
        _cached = None


def _select() -> Overrides:
    row = TaskRuntimeConfig.objects.select_related("updated_by").filter(pk=1).first()
    if row is None:
        return NO_OVERRIDES
    user = row.updated_by
    return Overrides(
        values={name: getattr(row, name) for name in FIELDS},
        updated_at=row.updated_at,
        updated_by_id=row.updated_by_id,
        updated_by_username=user.get_username() if user is not None else None,
    )


def _load() -> tuple[Overrides, bool]:
    """Read the row; return it and whether it may be cached."""
    connection = connections[router.db_for_read(TaskRuntimeConfig)]
    in_transaction = connection.in_atomic_block
    try:
        if in_transaction:
            # A savepoint, so that a failure (no table yet) does not break the caller's
            # transaction.
            with transaction.atomic(using=connection.alias, savepoint=True):
                return _select(), False
        return _select(), True
    except DatabaseError as error:
        if not in_transaction:
            connection.close_if_unusable_or_obsolete()
        logger.warning(
            "agentcore_task cannot read its runtime configuration (%s: %s); using the settings",
            type(error).__name__,
            first_line(error),
        )
        return NO_OVERRIDES, not in_transaction


def overrides(*, fresh: bool = False) -> Overrides:
    """Return the overrides: this process's copy while it is young enough, else the row.

    Args:
        fresh: read the database now, whatever the cache holds.
    """
    global _cached
    ttl = conf.config_cache_seconds()
    now = time.monotonic()
    with _lock:
        entry = _cached
    if not fresh and entry is not None and now - entry[0] < ttl:
        return entry[1]
    loaded, cacheable = _load()
    if cacheable and ttl > 0:
        with _lock:
            _cached = (now, loaded)
    return loaded
