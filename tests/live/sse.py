"""A Server-Sent Events client for the tests: a real HTTP stream read in its own thread.

Each parsed event (its ``event``, ``id``, ``data`` and any comment lines before it) lands in
a queue, so a test can hold several streams open at once and wait for what it expects.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Message:
    event: str = "message"
    id: str | None = None
    data: Any = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)


class EventStream:
    """``GET url`` as ``text/event-stream``; :meth:`wait_for` returns matching messages."""

    def __init__(self, url: str, *, headers: dict[str, str] | None = None, **options: Any):
        self.url = url
        self.headers = {"Accept": "text/event-stream", **(headers or {})}
        self.options = options
        self.messages: queue.Queue[Message | BaseException] = queue.Queue()
        self.response_headers: httpx.Headers | None = None
        self.status_code: int | None = None
        self.started = threading.Event()
        self.closed = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(30.0))
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self.started.wait(30):
            raise AssertionError(f"no response from {url}")

    def _read(self) -> None:
        try:
            with self._client.stream("GET", self.url, headers=self.headers, **self.options) as r:
                self.status_code, self.response_headers = r.status_code, r.headers
                self.started.set()
                message = Message()
                for line in r.iter_lines():
                    if line == "":
                        if message != Message():
                            self.messages.put(message)
                        message = Message()
                    elif line.startswith(":"):
                        message.comments.append(line[1:].strip())
                    else:
                        name, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        if name == "event":
                            message.event = value
                        elif name == "id":
                            message.id = value
                        elif name == "data":
                            message.data = json.loads(value)
                        elif name == "retry":
                            message.retry = int(value)
        except (httpx.HTTPError, RuntimeError) as error:
            if not self.closed.is_set():
                self.messages.put(error)
        finally:
            self.started.set()
            self.closed.set()

    def next(self, timeout: float = 15.0) -> Message:
        item = self.messages.get(timeout=timeout)
        if isinstance(item, BaseException):
            raise item
        return item

    def wait_for(self, match: Callable[[Message], bool], timeout: float = 15.0) -> list[Message]:
        """Read until a message matches; return every message read (the match last)."""
        seen: list[Message] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event within {timeout} s; got {seen!r}")
            try:
                message = self.next(timeout=left)
            except queue.Empty:
                continue
            seen.append(message)
            if match(message):
                return seen

    def drain(self, quiet: float = 1.5) -> list[Message]:
        """Every message until none arrives for ``quiet`` seconds (heartbeats aside)."""
        seen: list[Message] = []
        until = time.monotonic() + quiet
        while (left := until - time.monotonic()) > 0:
            try:
                message = self.next(timeout=left)
            except queue.Empty:
                break
            if message.event == "message" and message.data is None:
                continue  # a heartbeat or the retry line
            seen.append(message)
            until = time.monotonic() + quiet
        return seen

    def close(self) -> None:
        self.closed.set()
        self._client.close()


def executions(messages: list[Message]) -> list[dict[str, Any]]:
    return [m.data for m in messages if m.event == "execution"]
