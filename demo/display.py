"""Terminal view of the demo: progress read back from the executions table.

Nothing here talks to Celery: every bar and line comes from ``agentcore_task_execution``,
exactly what the API, the admin and a DBA's SQL see, read as it changes with the library's
own live machinery (``agentcore_task.live.watching.LiveRows``: the doorbell and the poll of
changed rows, as the API's streams and ``manage.py agentcore_task watch``). On a terminal each
running execution gets
a rich progress bar ("step: message", percent); otherwise (a pipe, a log file, a test) every
change is printed as one plain line.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from agentcore_task import TaskStatus
from agentcore_task.live.watching import LiveRows
from agentcore_task.models import TaskExecution

RUNNING = (TaskStatus.STARTED, TaskStatus.RETRY)
TERMINAL = (TaskStatus.SUCCESS, TaskStatus.FAILURE, TaskStatus.REVOKED)
WAIT_SECONDS = 0.25
"""The longest a :meth:`ProgressDisplay.poll` waits for a change, so Ctrl-C is served fast."""

_WAITING = {TaskStatus.PENDING: "queued", TaskStatus.STARTED: "started"}

FIELDS = (
    "id",
    "task_id",
    "task_name",
    "status",
    "metadata",
    "result",
    "error",
    "started_at",
    "finished_at",
    "updated_at",
)


class ProgressDisplay:
    """Show each change of the table's rows as it happens."""

    def __init__(self, console: Console, live: bool | None = None) -> None:
        self.console = console
        self.live = console.is_terminal if live is None else live
        self._rows: LiveRows | None = None
        self._seen: dict[int, tuple[Any, ...]] = {}
        self._bars: dict[int, TaskID] = {}
        self._progress: Progress | None = None
        if self.live:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.fields[name]:<24}"),
                TextColumn("[dim]{task.fields[short_id]}"),
                BarColumn(bar_width=24),
                TextColumn("{task.percentage:>3.0f}%"),
                TextColumn("{task.fields[step]}: {task.fields[message]}"),
                TimeElapsedColumn(),
                console=console,
                refresh_per_second=8,
            )

    def start(self, since: dt.datetime) -> None:
        """Show executions updated from ``since`` on (the database's clock)."""
        self._rows = LiveRows(TaskExecution.objects.values(*FIELDS), since=since)
        if self._progress is not None:
            self._progress.start()

    def stop(self) -> None:
        """Remove the bars (the last frame stays on screen) and end the live display."""
        if self._progress is not None:
            for bar in self._bars.values():
                self._progress.remove_task(bar)
            self._bars.clear()
            self._progress.stop()

    def poll(self) -> None:
        """Wait briefly for changes (the doorbell or the poll interval); show what changed."""
        assert self._rows is not None, "start() first"
        for row in self._rows.changes(timeout=WAIT_SECONDS):
            metadata = row["metadata"] or {}
            state = (
                row["status"],
                metadata.get("progress_percent"),
                metadata.get("progress_step"),
                metadata.get("progress_message"),
            )
            if self._seen.get(row["id"]) == state:
                continue
            self._seen[row["id"]] = state
            self._show(row, metadata)

    # ---- one row

    def _show(self, row: dict[str, Any], metadata: dict[str, Any]) -> None:
        status = row["status"]
        percent = metadata.get("progress_percent")
        step = str(metadata.get("progress_step") or "…")
        message = str(metadata.get("progress_message") or _WAITING.get(status, status.lower()))
        if self._progress is None:
            if status in TERMINAL:
                self._print(outcome(row))
            else:
                shown = f"{percent:>3}%" if isinstance(percent, int) else "   -"
                self._print(
                    f"{_short_name(row)} {row['task_id'][:8]} {status:<8} {shown} {step}: {message}"
                )
            return
        bar = self._bars.get(row["id"])
        if status in RUNNING:
            fields = {"step": escape(step), "message": escape(message)}
            completed = percent if isinstance(percent, int) else 0
            if bar is None:
                self._bars[row["id"]] = self._progress.add_task(
                    "",
                    total=100,
                    completed=completed,
                    name=escape(_short_name(row)),
                    short_id=row["task_id"][:8],
                    **fields,
                )
            else:
                self._progress.update(bar, completed=completed, **fields)
        elif status in TERMINAL:
            if bar is not None:
                self._progress.remove_task(self._bars.pop(row["id"]))
            self.console.print(escape(outcome(row)), highlight=False)

    def _print(self, text: str) -> None:
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        print(f"{stamp} {text}", flush=True, file=sys.stdout)


def outcome(row: dict[str, Any]) -> str:
    """One line saying how an execution ended."""
    name, short_id, status = _short_name(row), row["task_id"][:8], row["status"]
    took = ""
    if row["started_at"] and row["finished_at"]:
        took = f" in {(row['finished_at'] - row['started_at']).total_seconds():.1f} s"
    result = row["result"]
    if isinstance(result, dict) and result.get("status") == "skipped":
        return f"⏭ skipped  {name} {short_id}: {result.get('reason')} (duplicate lock)"
    if status == TaskStatus.SUCCESS:
        text = json.dumps(result, ensure_ascii=False, separators=(", ", ": "))
        return f"✔ SUCCESS  {name} {short_id}{took} → {_cut(text)}"
    if status == TaskStatus.FAILURE:
        error = (row["error"] or "").splitlines()[0] if row["error"] else "no error recorded"
        return f"✘ FAILURE  {name} {short_id}{took}: {_cut(error)} (traceback in the API)"
    message = (row["metadata"] or {}).get("progress_message", "")
    return f"■ {status:<8} {name} {short_id}: {_cut(str(message))}"


def _short_name(row: dict[str, Any]) -> str:
    return str(row["task_name"]).rsplit(".", 1)[-1]


def _cut(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
