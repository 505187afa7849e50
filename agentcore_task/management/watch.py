"""``manage.py agentcore_task watch``: live progress of executions in a terminal or a script.

The rows come from :class:`~agentcore_task.live.watching.LiveRows` (the doorbell and the poll
of changed rows, the same machinery as the API's streams), selected with the list's filters
(``services/filters.py``) plus ``--task-id``. An operator's command sees every row.

Three ways to show a change: ``--json`` prints one JSON object per change (a line each, for
scripts); on a terminal with rich installed (the ``demo`` extra) each running execution is a
live progress bar; otherwise one plain line per change.

``--exit-on-finish`` ends the command when the watched executions have finished: with
``--task-id``, that one; otherwise every execution that was unfinished at the start or
appeared since (it waits for at least one). The exit status is 1 when one of them ended
FAILURE or REVOKED, else 0, so a script or a CI job can wait on a task.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from agentcore_task import conf
from agentcore_task.live.events import ROW_FIELDS, progress_fields, row_event
from agentcore_task.live.feed import database_now
from agentcore_task.live.watching import LiveRows
from agentcore_task.models import TaskExecution
from agentcore_task.querysets import ExecutionFilters
from agentcore_task.status import TaskStatus

FAILED = (TaskStatus.FAILURE, TaskStatus.REVOKED)
TERMINAL = tuple(TaskStatus.get_completed_statuses())
START_LIMIT = 100
"""The unfinished executions shown when the command starts, newest first, at most."""


def plain_line(row: dict[str, Any]) -> str:
    """One change as a line: time, name, short id, status, percent, step: message."""
    progress = progress_fields(row.get("metadata"))
    percent = progress["progress_percent"]
    shown = f"{percent:>3}%" if isinstance(percent, int) else "   -"
    step = progress["progress_step"] or "-"
    message = progress["progress_message"] or ""
    if row["status"] in FAILED and row.get("error"):
        message = str(row["error"]).splitlines()[0] if str(row["error"]) else message
    name = str(row["task_name"]).rsplit(".", 1)[-1]
    stamp = dt.datetime.now().strftime("%H:%M:%S")
    return f"{stamp} {name} {row['task_id'][:8]} {row['status']:<8} {shown} {step}: {message}"


class Bars:
    """rich progress bars, one per running execution; a finished one becomes a line."""

    def __init__(self, out: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        self.console = Console(file=out, highlight=False)
        self.progress = Progress(
            TextColumn("[bold]{task.fields[name]}"),
            TextColumn("[dim]{task.fields[short_id]}"),
            BarColumn(bar_width=24),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[text]}"),
            console=self.console,
        )
        self.bars: dict[int, Any] = {}
        self.progress.start()

    def show(self, row: dict[str, Any]) -> None:
        from rich.markup import escape

        progress = progress_fields(row.get("metadata"))
        percent = progress["progress_percent"]
        text = escape(f"{progress['progress_step'] or ''} {progress['progress_message'] or ''}")
        bar = self.bars.get(row["id"])
        if row["status"] in TERMINAL:
            if bar is not None:
                self.progress.remove_task(self.bars.pop(row["id"]))
            self.console.print(escape(plain_line(row)))
            return
        fields: dict[str, Any] = {
            "completed": percent if isinstance(percent, int) else 0,
            "text": text,
        }
        if bar is None:
            name = escape(str(row["task_name"]).rsplit(".", 1)[-1])
            short = row["task_id"][:8]
            self.bars[row["id"]] = self.progress.add_task(
                "", total=100, name=name, short_id=short, **fields
            )
        else:
            self.progress.update(bar, **fields)

    def close(self) -> None:
        self.progress.stop()


def renderer(
    out: TextIO, as_json: bool
) -> tuple[Callable[[dict[str, Any]], None], Callable[[], None]]:
    """Return (show one row, finish) for the chosen output."""
    if as_json:

        def show_json(row: dict[str, Any]) -> None:
            out.write(json.dumps(row_event(row), ensure_ascii=False) + "\n")
            out.flush()

        return show_json, lambda: None
    if out.isatty():
        try:
            bars = Bars(out)
        except ImportError:  # rich is the demo extra's
            pass
        else:
            return bars.show, bars.close

    def show_line(row: dict[str, Any]) -> None:
        out.write(plain_line(row) + "\n")
        out.flush()

    return show_line, lambda: None


def watch(
    filters: ExecutionFilters,
    *,
    as_json: bool = False,
    exit_on_finish: bool = False,
    out: TextIO = sys.stdout,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Show changes of the executions matching ``filters`` until stopped; return the status."""
    using = conf.live_database_alias()
    rows = TaskExecution.objects.matching(filters).values(*ROW_FIELDS, "metadata")
    since = database_now(using)
    live = LiveRows(rows, using=using, since=since)
    show, finish = renderer(out, as_json)
    watched: dict[int, str] = {}
    try:
        start = rows.using(using)
        if filters.task_id is None:
            start = start.filter(status__in=[s.value for s in TaskStatus if s not in TERMINAL])
        for row in reversed(list(start.order_by("-created_at", "-id")[:START_LIMIT])):
            watched[row["id"]] = row["status"]
            show(row)
        while not should_stop():
            if exit_on_finish and watched and all(s in TERMINAL for s in watched.values()):
                return 1 if any(s in FAILED for s in watched.values()) else 0
            for row in live.changes():
                watched[row["id"]] = row["status"]
                show(row)
        return 0
    finally:
        finish()
        live.close()
