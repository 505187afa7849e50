"""Collect a task run's log records in memory so they can be stored on its execution row.

A Celery task creates a :class:`TaskLogCollector`, logs into it directly (``info``,
``warning``...) or through Python ``logging`` (:meth:`TaskLogCollector.capture`), and at
the end calls :meth:`TaskLogCollector.flush` to append the records to the execution's
metadata. Memory is bounded: the collector is a ring buffer that keeps the newest
``max_records`` records and counts the evicted ones in ``dropped_count``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Required, TypedDict

from agentcore_task.services.arguments import optional_text
from agentcore_task.services.writes import append_metadata
from agentcore_task.validation import checked_int

__all__ = ["TaskLogCollector"]

_FORMATTER = logging.Formatter()
_LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}
_ALERT_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})


class LogRecordDict(TypedDict, total=False):
    """Describe one collected record; every value is JSON-safe and only "exception" is optional."""

    level: Required[str]  # DEBUG/INFO/WARNING/ERROR/CRITICAL, or a custom logging levelname
    message: Required[str]
    timestamp: Required[float]  # time.time()
    exception: str


class LogSummary(TypedDict):
    """Describe the counts returned by :meth:`TaskLogCollector.get_summary`."""

    total: int
    by_level: dict[str, int]


def _exception_text(exception: str | BaseException | None) -> str | None:
    """Render an exception as text so records stay JSON-safe."""
    if isinstance(exception, BaseException):
        return optional_text("exception", exception)
    return str(exception) if exception else None


def _validate(max_records: object) -> int:
    """Reject sizes a ring buffer cannot have, before they fail obscurely later."""
    return checked_int("max_records", max_records)


class _CollectorHandler(logging.Handler):
    """Forward ``logging`` records into a collector, so library logs land on the row."""

    def __init__(self, collector: TaskLogCollector, level: int) -> None:
        super().__init__(level)
        self.collector = collector

    def emit(self, record: logging.LogRecord) -> None:
        """Append the record; never raise into the caller's logging call."""
        try:
            exception: str | None = record.exc_text or None
            if record.exc_info and record.exc_info[0] is not None:
                exception = _FORMATTER.formatException(record.exc_info)
            level = _LEVEL_ALIASES.get(record.levelname, record.levelname)
            self.collector._add_log(level, record.getMessage(), exception, record.created)
        except Exception:
            self.handleError(record)


class TaskLogCollector:
    """Keep the newest log records of one task run, bounded and safe to share between threads."""

    def __init__(self, max_records: int = 1000) -> None:
        """Create an empty collector keeping at most ``max_records`` records (a positive int)."""
        self._lock = threading.Lock()
        self._records: deque[LogRecordDict] = deque(maxlen=_validate(max_records))
        self._dropped = 0
        self._appended = 0  # monotonic; lets flush() keep records added while it was writing

    @property
    def max_records(self) -> int:
        """Return the capacity of the ring buffer."""
        return self._records.maxlen or 0

    @max_records.setter
    def max_records(self, value: int) -> None:
        """Resize the buffer, keeping the newest records (assignment is public API, so kept)."""
        size = _validate(value)
        with self._lock:
            self._dropped += max(0, len(self._records) - size)
            self._records = deque(self._records, maxlen=size)

    @property
    def dropped_count(self) -> int:
        """Return how many old records were evicted since the last clear."""
        with self._lock:
            return self._dropped

    @property
    def records(self) -> list[LogRecordDict]:
        """Return a snapshot of the records (``records`` is public API, as is :meth:`get_logs`)."""
        return self.get_logs()

    def _add_log(
        self,
        level: str,
        message: object,
        exception: str | BaseException | None = None,
        timestamp: float | None = None,
    ) -> None:
        """Append one record, evicting the oldest in O(1) when the buffer is full."""
        entry: LogRecordDict = {
            "level": level,
            "message": str(message),
            "timestamp": time.time() if timestamp is None else timestamp,
        }
        text = _exception_text(exception)
        if text is not None:
            entry["exception"] = text
        with self._lock:
            if len(self._records) == self._records.maxlen:
                self._dropped += 1
            self._records.append(entry)
            self._appended += 1

    def debug(self, message: object) -> None:
        """Record a DEBUG message."""
        self._add_log("DEBUG", message)

    def info(self, message: object) -> None:
        """Record an INFO message."""
        self._add_log("INFO", message)

    def warning(self, message: object) -> None:
        """Record a WARNING message."""
        self._add_log("WARNING", message)

    def error(self, message: object, exception: str | BaseException | None = None) -> None:
        """Record an ERROR message, with the exception's text when one is given."""
        self._add_log("ERROR", message, exception)

    def critical(self, message: object, exception: str | BaseException | None = None) -> None:
        """Record a CRITICAL message, with the exception's text when one is given."""
        self._add_log("CRITICAL", message, exception)

    def get_logs(self) -> list[LogRecordDict]:
        """Return copies of the kept records, oldest first, so callers cannot alter the buffer."""
        with self._lock:
            return [r.copy() for r in self._records]

    def get_warnings_and_errors(self) -> list[LogRecordDict]:
        """Return the kept WARNING, ERROR and CRITICAL records, oldest first."""
        return [r for r in self.get_logs() if r["level"] in _ALERT_LEVELS]

    def get_summary(self) -> LogSummary:
        """Return ``{"total": n, "by_level": {level: count}}`` over the kept records."""
        by_level: dict[str, int] = {}
        for record in self.get_logs():
            by_level[record["level"]] = by_level.get(record["level"], 0) + 1
        return {"total": sum(by_level.values()), "by_level": by_level}

    def clear(self) -> None:
        """Forget every record and reset ``dropped_count``."""
        with self._lock:
            self._records.clear()
            self._dropped = 0

    def handler(self, level: int = logging.INFO) -> logging.Handler:
        """Return a ``logging.Handler`` appending records at ``level`` or above to this collector.

        ``WARN`` becomes ``WARNING``, ``FATAL`` becomes ``CRITICAL``, other levelnames are kept;
        ``exc_info`` is formatted into ``"exception"``.
        """
        return _CollectorHandler(self, level)

    @contextmanager
    def capture(
        self, logger: str | logging.Logger | None = None, level: int = logging.INFO
    ) -> Iterator[logging.Handler]:
        """Collect ``logger``'s records (root when None) for the ``with`` block; yield the handler.

        The handler is removed afterwards, even when the block raises. If the logger's
        effective level is above ``level`` (e.g. a logger inheriting root's default WARNING),
        its own level is lowered to ``level`` for the block so those records are created at
        all, and restored afterwards. While lowered, the logger's other handlers and its
        ancestors' handlers see those records too. The handler sees every thread's records,
        so under a thread/gevent pool capture the task's own logger rather than root.
        """
        target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
        handler = self.handler(level)
        previous = target.level
        lowered = target.getEffectiveLevel() > level
        if lowered:
            target.setLevel(level)
        target.addHandler(handler)
        try:
            yield handler
        finally:
            target.removeHandler(handler)
            if lowered:
                target.setLevel(previous)

    def flush(self, task_id: str, key: str = "logs", *, clear: bool = True) -> bool:
        """Append the records to ``metadata[key]`` of the task's execution row.

        Return True when the tracker returned the updated row. Only then, and when ``clear``,
        are the written records removed; records logged while the write was running are kept.
        Errors raised by the tracker propagate.
        """
        with self._lock:
            records = [r.copy() for r in self._records]
            appended_before = self._appended
        row = append_metadata(task_id, key, records)
        if row is None:
            return False
        if clear:
            with self._lock:
                newer = min(self._appended - appended_before, len(self._records))
                self._dropped = self._appended - appended_before - newer
                for _ in range(len(self._records) - newer):
                    self._records.popleft()
        return True

    def __len__(self) -> int:
        """Return how many records are kept."""
        with self._lock:
            return len(self._records)

    def __repr__(self) -> str:
        """Show the size, capacity, drops and per-level counts for debugging."""
        summary = self.get_summary()
        return (
            f"<TaskLogCollector {summary['total']}/{self.max_records} records, "
            f"{self.dropped_count} dropped, by_level={summary['by_level']}>"
        )
