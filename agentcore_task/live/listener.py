"""One connection that LISTENs to the doorbell and says which rows rang.

It is a Django connection of ``AGENTCORE_TASK_LIVE_DATABASE``, held by the one thread that
uses it (the hub's, or a ``watch`` command's), in autocommit: notifications arrive between
statements. Payloads that are not the doorbell's are ignored; the row is read anyway.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import connections

from agentcore_task.doorbell import CHANNEL

logger = logging.getLogger("agentcore_task")

APPLICATION = "agentcore_task live"
"""The connection's ``application_name``: how a DBA finds the listeners in pg_stat_activity."""


class Listener:
    """LISTEN on the doorbell's channel; :meth:`wait` returns the ids that rang."""

    def __init__(self, using: str) -> None:
        self.using = using
        self._listening: Any = None

    def _ensure(self) -> Any:
        wrapper = connections[self.using]
        wrapper.ensure_connection()
        pg = wrapper.connection
        if pg is not self._listening:
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT set_config('application_name', %s, false)", [APPLICATION])
                cursor.execute(f'LISTEN "{CHANNEL}"')
            self._listening = pg
        return pg

    def _on_notify(self, notify: Any, rung: set[int]) -> None:
        try:
            rung.add(int(json.loads(notify.payload)["id"]))
        except (ValueError, TypeError, KeyError):
            logger.debug("agentcore_task: ignored a notification %r", notify.payload)

    def wait(self, timeout: float) -> set[int]:
        """Wait up to ``timeout`` seconds for the doorbell; return the ids rung since last time.

        Returns at once when some already rang. A notification lost anyway (an older psycopg
        that keeps none between waits, a reconnect) only delays the row until the next poll.
        Raises the driver's error when the
        connection is lost (the caller closes it and reconnects).
        """
        pg = self._ensure()
        rung: set[int] = set()
        # Notifications that arrived during other statements on this connection (the feed's
        # reads) come first, without waiting: psycopg keeps them until notifies() runs again.
        for notify in pg.notifies(timeout=timeout, stop_after=1):
            self._on_notify(notify, rung)
        return rung

    def close(self) -> None:
        """Close the connection (LISTEN ends with it)."""
        self._listening = None
        connections[self.using].close()
