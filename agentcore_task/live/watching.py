"""Watch a queryset's rows change, in one thread: the doorbell and the poll on one connection.

What ``manage.py agentcore_task watch`` and the demo's terminal display read. The queryset
chooses the rows and the columns (a ``values()`` queryset gives dicts); each call of
:meth:`LiveRows.changes` waits for the doorbell or the poll interval and returns the rows of
that queryset that changed since the last call, oldest change first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet

from agentcore_task import conf
from agentcore_task.live.feed import ChangeFeed
from agentcore_task.live.listener import Listener


class LiveRows:
    """The changes of ``rows``, read on the ``AGENTCORE_TASK_LIVE_DATABASE`` connection."""

    def __init__(
        self, rows: QuerySet[Any], *, using: str | None = None, since: dt.datetime | None = None
    ) -> None:
        self.using = using or conf.live_database_alias()
        self.rows = rows.using(self.using)
        self._listener = Listener(self.using)
        self._feed = ChangeFeed(self.using, since)

    def changes(self, timeout: float | None = None) -> list[Any]:
        """Wait up to ``timeout`` (default: the poll interval); return the rows that changed."""
        wait = conf.live_poll_seconds() if timeout is None else timeout
        ids = self._feed.read(self._listener.wait(wait))
        if not ids:
            return []
        return list(self.rows.filter(pk__in=ids).order_by("updated_at", "id"))

    def close(self) -> None:
        """Close the connection (LISTEN ends with it)."""
        self._listener.close()
