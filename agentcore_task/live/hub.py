"""The hub: one listener per server process, fanning row changes out to every stream client.

One daemon thread owns one database connection (``AGENTCORE_TASK_LIVE_DATABASE``): it waits
for the doorbell or the poll interval (``AGENTCORE_TASK_LIVE_POLL_SECONDS``), reads the ids of
changed rows (:class:`~agentcore_task.live.feed.ChangeFeed`), and hands them to each distinct
:class:`Subscription`. A subscription selects, among those ids, the rows its clients may see
and renders their events: one query per distinct subscription (clients with the same user
and filters share one), never one per client, and never a connection per client.

Each client has a bounded queue in its own event loop. A client that falls behind is not
waited for: its queue is replaced by one ``reset`` event and it is disconnected, so a slow
browser never slows the others; on reconnect it catches up from the rows (``Last-Event-ID``).

With no client the thread closes its connection and sleeps: an idle LISTEN would let the
server's notification queue fill. A lost connection is reopened after a pause, and the
feed's cursor makes the first read after it the catch-up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import Hashable, Sequence
from typing import Any, Protocol

from django.db import DatabaseError, connections

from agentcore_task import conf
from agentcore_task.live.feed import ChangeFeed
from agentcore_task.live.listener import Listener

logger = logging.getLogger("agentcore_task")

RECONNECT_PAUSE_SECONDS = 2.0


@dataclasses.dataclass(frozen=True)
class Event:
    """One Server-Sent Event: its name, its data (JSON-ready) and the row version it shows."""

    name: str
    data: Any
    version: str | None = None
    row: int | None = None


class Subscription(Protocol):
    """What a client watches; the hub calls :meth:`select` in its own thread."""

    key: Hashable
    """Equal keys select the same rows the same way (one query serves them all)."""

    def select(self, ids: Sequence[int], using: str) -> list[Event]:
        """Return the events of the rows among ``ids`` this subscription shows."""


class Client:
    """One stream's end of the hub: a bounded queue of event batches in its event loop."""

    def __init__(self, subscription: Subscription, size: int) -> None:
        self.subscription = subscription
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[list[Event]] = asyncio.Queue(maxsize=size)
        self.dropped = False

    def offer(self, events: list[Event]) -> None:
        """Queue a batch (in the client's loop); drop the client when its queue is full."""
        if self.dropped:
            return
        if self.queue.full():
            self.dropped = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait([Event("reset", {"reason": "client too slow"})])
            return
        self.queue.put_nowait(events)

    def deliver(self, events: list[Event]) -> bool:
        """Hand a batch over from the hub's thread; False when the client's loop is gone."""
        try:
            self.loop.call_soon_threadsafe(self.offer, events)
        except RuntimeError:  # the loop is closed
            return False
        return True


class Hub:
    """The per-process fan-out (use :func:`get_hub`)."""

    def __init__(self) -> None:
        self._clients: set[Client] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def subscribe(self, subscription: Subscription) -> Client:
        """Register a client for ``subscription`` (call from the client's event loop)."""
        client = Client(subscription, conf.live_queue_size())
        with self._lock:
            self._clients.add(client)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="agentcore_task-live-hub", daemon=True
                )
                self._thread.start()
        self._wake.set()
        return client

    def unsubscribe(self, client: Client) -> None:
        """Forget a client (its stream ended)."""
        with self._lock:
            self._clients.discard(client)

    def client_count(self) -> int:
        with self._lock:
            return len(self._clients)

    # --- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        using = conf.live_database_alias()
        while True:
            self._wake.wait()
            try:
                self._serve(using)
            except DatabaseError as error:
                logger.warning(
                    "agentcore_task live hub: database connection lost (%s); reconnecting in "
                    "%.0f s",
                    error,
                    RECONNECT_PAUSE_SECONDS,
                )
                time.sleep(RECONNECT_PAUSE_SECONDS)
            finally:
                connections[using].close()
            with self._lock:
                if not self._clients:
                    self._wake.clear()

    def _serve(self, using: str) -> None:
        """Listen and poll until no client is left (returns) or the connection fails (raises)."""
        listener = Listener(using)
        feed = ChangeFeed(using)
        try:
            while self.client_count():
                rung = listener.wait(conf.live_poll_seconds())
                changed = feed.read(rung)
                if changed:
                    self._fan_out(changed, using)
        finally:
            listener.close()

    def _fan_out(self, ids: list[int], using: str) -> None:
        with self._lock:
            clients = list(self._clients)
        groups: dict[Hashable, list[Client]] = {}
        for client in clients:
            groups.setdefault(client.subscription.key, []).append(client)
        for members in groups.values():
            try:
                events = members[0].subscription.select(ids, using)
            except DatabaseError:
                raise
            except Exception:  # one subscription's bug must not stop every stream
                logger.exception("agentcore_task live hub: a subscription failed")
                continue
            if not events:
                continue
            for client in members:
                if not client.deliver(events):
                    self.unsubscribe(client)


_HUB = Hub()


def get_hub() -> Hub:
    """Return this process's hub (it starts its thread with the first client)."""
    return _HUB
