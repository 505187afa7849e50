"""The overview page's numbers: counts per status over a window, a chart, what runs, what lags.

Counts, the time series and the run-time percentiles come from one call to the stats service
over the user's visible rows (one SQL statement); the running rows and the oldest PENDING
age are two small reads that the partial index on unfinished rows serves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from agentcore_task.dashboard import present
from agentcore_task.dashboard.rows import with_usernames
from agentcore_task.services.stats import SeriesBucket, get_task_stats
from agentcore_task.status import TaskStatus

WINDOWS = {
    "hour": (dt.timedelta(hours=1), "hour"),
    "day": (dt.timedelta(days=1), "hour"),
    "week": (dt.timedelta(weeks=1), "day"),
}
"""Window name → (how far back the counts reach, the chart's bucket unit)."""
DEFAULT_WINDOW = "day"
RUNNING_LIMIT = 20
SLOWEST_LIMIT = 5
CHART_WIDTH, CHART_HEIGHT = 600, 160


@dataclasses.dataclass(frozen=True)
class Bar:
    """One bucket of the chart, in the SVG's own units, and the sentence that describes it."""

    x: float
    width: float
    total_y: float
    total_height: float
    failure_y: float
    failure_height: float
    label: str


def chart(series: list[SeriesBucket], unit: str) -> list[Bar]:
    """Lay the series out as bars: all runs of a bucket, and its failures in front."""
    if not series:
        return []
    peak = max(bucket["total"] for bucket in series) or 1
    slot = CHART_WIDTH / len(series)
    bars = []
    for index, bucket in enumerate(series):
        total = bucket["total"] * CHART_HEIGHT / peak
        failed = bucket["failure"] * CHART_HEIGHT / peak
        start = timezone.localtime(bucket["start"])
        when = start.strftime("%a %d %b" if unit == "day" else "%H:%M")
        bars.append(
            Bar(
                x=round(index * slot + slot * 0.1, 2),
                width=round(slot * 0.8, 2),
                total_y=round(CHART_HEIGHT - total, 2),
                total_height=round(total, 2),
                failure_y=round(CHART_HEIGHT - failed, 2),
                failure_height=round(failed, 2),
                label=f"{when}: {bucket['total']} runs, {bucket['failure']} failed",
            )
        )
    return bars


def overview(rows: QuerySet[Any], window: str) -> dict[str, Any]:
    """Return the overview's context for the rows a user may see, over ``window``."""
    span, unit = WINDOWS[window]
    now = timezone.now()
    stats = get_task_stats(
        queryset=rows, start_date=now - span, granularity=unit, include="durations"
    )
    counts = [
        {
            "status": status,
            "label": label,
            "count": stats[status.lower()],  # type: ignore[literal-required]
            "short": present.short_number(stats[status.lower()]),  # type: ignore[literal-required]
            "css": f"status-{status.lower()}",
        }
        for status, label in TaskStatus.choices
    ]
    slowest = sorted(
        (
            (name, timing)
            for name, timing in stats.get("durations", {}).items()
            if timing["p95"] is not None
        ),
        key=lambda item: item[1]["p95"] or 0.0,
        reverse=True,
    )[:SLOWEST_LIMIT]
    running = with_usernames(
        rows.filter(status__in=TaskStatus.get_running_statuses()).list_columns()  # type: ignore[attr-defined]
    )
    oldest = (
        rows.filter(status=TaskStatus.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return {
        "window": window,
        "windows": list(WINDOWS),
        "total": stats["total"],
        "total_short": present.short_number(stats["total"]),
        "counts": counts,
        "bars": chart(stats.get("series", []), unit),
        "chart_width": CHART_WIDTH,
        "chart_height": CHART_HEIGHT,
        "slowest": [
            {
                "task_name": name,
                "p95": present.duration_text(timing["p95"]),
                "p50": present.duration_text(timing["p50"]),
                "count": present.short_number(timing["count"]),
                "queue_wait_p95": present.duration_text(timing["queue_wait_p95"]),
            }
            for name, timing in slowest
        ],
        "running": [
            present.execution(row, now)
            for row in running.order_by("-created_at", "-id")[:RUNNING_LIMIT]
        ],
        "oldest_pending": present.moment(oldest, now),
    }
