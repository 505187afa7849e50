"""The poll of changed rows: every execution whose ``updated_at`` moved since the last read.

Progress merges ring no doorbell, so this read is how they reach live consumers; the
doorbell's ids are folded into the same read, so a status change or an insert is seen at
once, and the read alone still sees everything when the doorbell is off or a notification
was missed (a reconnect, a listener that started late).

``updated_at`` is the statement's time, stamped before commit, so a row can become visible
with an ``updated_at`` a little older than one already read. Each read therefore looks back
:data:`OVERLAP` before the newest version seen and drops the versions it already returned.
A single statement that commits more than :data:`OVERLAP` after it started can be missed by
the poll (its doorbell, for an insert or a status change, still names it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connections
from django.db.models import Q

OVERLAP = dt.timedelta(seconds=2)


def database_now(using: str) -> dt.datetime:
    """Return the database's clock: versions are its times, never this machine's."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT statement_timestamp()")
        (now,) = cursor.fetchone()
    return now


class ChangeFeed:
    """Rows changed since the last read, each version returned once."""

    def __init__(self, using: str, since: dt.datetime | None = None) -> None:
        self.using = using
        self.cursor = since if since is not None else database_now(using)
        self._returned: dict[int, dt.datetime] = {}

    def read(self, rung: Iterable[int] = ()) -> list[int]:
        """Return the ids of rows changed since the last read (oldest change first).

        ``rung``: ids the doorbell named, read whatever their ``updated_at``.
        """
        from agentcore_task.models import TaskExecution

        ids = list(rung)
        changed = Q(updated_at__gt=self.cursor - OVERLAP)
        if ids:
            changed |= Q(pk__in=ids)
        rows = (
            TaskExecution.objects.using(self.using)
            .filter(changed)
            .order_by("updated_at", "id")
            .values_list("id", "updated_at")
        )
        fresh = []
        for pk, updated_at in rows:
            if self._returned.get(pk) == updated_at:
                continue
            self._returned[pk] = updated_at
            self.cursor = max(self.cursor, updated_at)
            fresh.append(pk)
        horizon = self.cursor - OVERLAP
        self._returned = {pk: at for pk, at in self._returned.items() if at > horizon}
        return fresh
