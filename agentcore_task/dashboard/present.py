"""How values read on a page: short counts, durations, local times, progress, pretty JSON.

Pure formatting for the templates, computed in Python so the templates stay logic-free and
the JavaScript module, which re-renders the same values live, has one server reference.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import types
from typing import Any

from django.utils import timezone

from agentcore_task.status import TaskStatus

_UNITS = (("", 1), ("k", 1_000), ("M", 1_000_000), ("B", 1_000_000_000))


def short_number(value: int) -> str:
    """Return ``value`` shortened for a glance: 950, 12.3k, 4.1M (at most three digits)."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for suffix, size in _UNITS:
        scaled = value / size
        if suffix == "" and value < 1000:
            return f"{sign}{value}"
        if suffix and round(scaled, 1 if scaled < 100 else 0) < 1000:
            text = f"{scaled:.1f}" if scaled < 100 else f"{scaled:.0f}"
            return sign + text.removesuffix(".0") + suffix
    return f"{sign}{value / 1_000_000_000:.0f}B"


def duration_text(seconds: float | None) -> str:
    """Return a run time the way a person reads it: 0.42 s, 12.3 s, 4 min 05 s, 2 h 03 min."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} d {hours % 24} h"


def age_text(seconds: float) -> str:
    """Return how long ago something happened, coarsely: "just now", "5 min ago", "3 h ago"."""
    seconds = max(0.0, seconds)
    if seconds < 5:
        return "just now"
    for size, unit in ((86_400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


@dataclasses.dataclass(frozen=True)
class Moment:
    """An instant as a page shows it: ISO for the script, local text and age for the reader."""

    iso: str
    text: str
    age: str


def moment(value: dt.datetime | None, now: dt.datetime | None = None) -> Moment | None:
    """Return the instant in the current time zone to the second, with its age."""
    if value is None:
        return None
    now = now or timezone.now()
    local = timezone.localtime(value)
    return Moment(
        iso=value.isoformat(),
        text=local.strftime("%Y-%m-%d %H:%M:%S %Z"),
        age=age_text((now - value).total_seconds()),
    )


def percent(metadata: Any, status: str) -> int | None:
    """Return the progress as a whole percentage 0-100, or None when nothing was reported.

    A finished SUCCESS is 100 whatever was last reported; a float is rounded down, so a bar
    never shows done before the task is.
    """
    if status == TaskStatus.SUCCESS:
        return 100
    value = metadata.get("progress_percent") if isinstance(metadata, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(0, min(100, int(value)))


def pretty_json(value: Any) -> str:
    """Return JSON indented for reading (non-ASCII kept as written)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@dataclasses.dataclass(frozen=True)
class ExecutionView:
    """One execution as a table row or a detail heading shows it."""

    row: Any
    status_class: str
    percent: int | None
    progress_message: str
    duration: str
    created: Moment | None
    started: Moment | None
    finished: Moment | None


def execution(row: Any, now: dt.datetime | None = None) -> ExecutionView:
    """Wrap a row (list columns at least) in what the templates display."""
    now = now or timezone.now()
    metadata = row.metadata if "metadata" not in row.get_deferred_fields() else {}
    message = metadata.get("progress_message") if isinstance(metadata, dict) else None
    return ExecutionView(
        row=row,
        status_class=f"status-{row.status.lower()}",
        percent=percent(metadata, row.status),
        progress_message=message if isinstance(message, str) else "",
        duration=duration_text(row.duration),
        created=moment(row.created_at, now),
        started=moment(row.started_at, now),
        finished=moment(row.finished_at, now),
    )


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
    """One transition of ``status_history`` (written by the status trigger) as shown."""

    status: str
    status_class: str
    at: Moment | None
    worker: str


def history(entries: Any, now: dt.datetime | None = None) -> list[HistoryEntry]:
    """Return the status history, oldest first, from the trigger's ``{status, at, worker}``.

    An entry whose ``at`` does not parse keeps its status, without a time: the column is
    written only by the trigger, but a page must never fail on one odd value.
    """
    shown = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("status"), str):
            continue
        at = None
        if isinstance(entry.get("at"), str):
            try:
                at = moment(dt.datetime.fromisoformat(entry["at"]), now)
            except ValueError:
                at = None
        worker = entry.get("worker")
        shown.append(
            HistoryEntry(
                status=entry["status"],
                status_class=f"status-{entry['status'].lower()}",
                at=at,
                worker=worker if isinstance(worker, str) else "",
            )
        )
    return shown


BLANK = ExecutionView(
    row=types.SimpleNamespace(pk="", task_name="", module="", status="", created_by_username=""),
    status_class="",
    percent=None,
    progress_message="",
    duration="",
    created=None,
    started=None,
    finished=None,
)
"""The empty row of the page's ``<template>``, which the script fills for new executions."""
