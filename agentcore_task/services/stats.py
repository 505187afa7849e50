"""Execution statistics in one SQL statement: counts per status, a time series, durations.

The filters are the REST list's (``parse_filters``, then ``matching``), applied to a queryset; the
statement ``task_stats`` (``sql/stats.sql``) reads the rows of that queryset as a subquery,
so every filter stays a WHERE clause that the table's indexes serve and the counts can run as
a parallel scan. ``bench/stats.py`` measures it against a flat ``GROUP BY`` over 1M rows.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from django.utils import timezone

from agentcore_task.db import fetch_rows_of_queryset
from agentcore_task.exceptions import FilterError, StatsArgumentError
from agentcore_task.models import TaskExecution
from agentcore_task.services.filters import FILTER_NAMES, parse_filters
from agentcore_task.services.stats_window import (
    bucket_count,
    default_start,
    first_instant,
    last_instant,
)

if TYPE_CHECKING:
    from django.db.models import QuerySet

# The filters of the REST list that make sense for counts (ordering does not, nor does one
# exact task id).
FILTERS = tuple(name for name in FILTER_NAMES if name not in ("ordering", "task_id"))
# Granularity → how many buckets the default window has when no start_date is given.
DEFAULT_BUCKETS = {"hour": 24, "day": 30, "week": 12, "month": 12}
MAX_BUCKETS = 1000
# Earlier windows reach back to local mean times and, near year 1, to BC timestamps that
# Python cannot hold (no task ran then); the end keeps a margin before datetime.max.
FIRST_SERIES_START = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LAST_SERIES_END = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)
INCLUDES = frozenset({"durations"})
ROW_COLUMNS = ("module", "task_name", "status", "created_at", "started_at", "finished_at")


class StatusCounts(TypedDict):
    """How many executions there are, in total and in each status."""

    total: int
    pending: int
    started: int
    success: int
    failure: int
    retry: int
    revoked: int


class SeriesBucket(StatusCounts):
    """One bucket of the time series; ``start`` is its first instant, in the time zone used."""

    start: dt.datetime


class DurationStats(TypedDict):
    """Run times in seconds (``finished_at - started_at``) of one task name's finished runs."""

    count: int
    avg: float | None
    p50: float | None
    p95: float | None
    max: float | None
    failure_rate: float | None
    queue_wait_p50: float | None
    """Median seconds from registration to start, of the runs that started."""
    queue_wait_p95: float | None


class TaskStats(StatusCounts):
    """The result of :func:`get_task_stats`."""

    by_module: dict[str, StatusCounts]
    by_task_name: dict[str, StatusCounts]
    series: NotRequired[list[SeriesBucket]]
    durations: NotRequired[dict[str, DurationStats]]


def get_task_stats(
    module: str | None = None,
    task_name: str | None = None,
    created_by: Any = None,
    start_date: dt.date | dt.datetime | str | None = None,
    end_date: dt.date | dt.datetime | str | None = None,
    granularity: str | None = None,
    include: str | Iterable[str] | None = None,
    *,
    status: str | Iterable[str] | None = None,
    search: str | None = None,
    metadata: Any = None,
    task_kwargs: Any = None,
    task_args: Any = None,
    result: Any = None,
    queryset: QuerySet[TaskExecution] | None = None,
) -> TaskStats:
    """Count executions by status, module and task name in one SQL statement.

    The filters are the REST list's, as Python values or as the strings the API takes
    (``None``: no filter); ``status`` may name several (a comma string or a collection).
    ``start_date``/``end_date`` bound ``created_at``, both inclusive; a bare date is a whole
    day in the current time zone (``TIME_ZONE`` unless activated otherwise). No user
    scoping is applied: pass ``queryset`` (e.g. a user's rows) to count within it.

    Args:
        granularity: ``hour``, ``day``, ``week`` (ISO, from Monday) or ``month`` adds
            ``series``: one bucket per unit of local time from start_date to end_date, empty
            ones included, at most 1000. Without start_date the window is the last 24 hours,
            30 days, 12 weeks or 12 months up to end_date (default now), and then every count
            in the result covers that window, so the series adds up to the totals.
        include: ``"durations"`` (or a list with it) adds ``durations``: per task name, the
            count, average, median, 95th percentile and maximum of the run time in seconds of
            its finished runs (both timestamps set), and the failure rate
            ``failure / (success + failure)``.
        queryset: the executions to count before the filters; default all of them.

    Returns:
        ``total`` and one count per status, ``by_module`` and ``by_task_name`` (each
        ``{name: {total, pending, …}}``), plus ``series`` / ``durations`` when asked.

    Raises:
        StatsArgumentError: (a ValueError) invalid values; ``errors`` names each parameter.
        TypeError: ``created_by`` is neither a user, an id (int or digits) nor None.
    """
    values = {
        "module": module,
        "task_name": task_name,
        "status": status,
        "created_by": created_by,
        "start_date": start_date,
        "end_date": end_date,
        "search": search,
        "metadata": metadata,
        "task_kwargs": task_kwargs,
        "task_args": task_args,
        "result": result,
    }
    errors: dict[str, list[str]] = {}
    unit = _granularity(granularity, errors)
    with_durations = _include(include, errors)
    try:
        filters = parse_filters(**values)
    except FilterError as error:
        errors.update(error.errors)
        filters = None
    rows = queryset if queryset is not None else TaskExecution.objects.all()
    if filters is not None:
        rows = rows.matching(filters).order_by()  # type: ignore[attr-defined]
    start = filters.start_date if filters is not None else None
    end = filters.end_date if filters is not None else None
    window = None
    if unit is not None and not errors:
        window = _window(unit, start, end, errors)
    if errors:
        raise StatsArgumentError(errors)
    if window is not None:
        if start is None:
            rows = rows.filter(created_at__gte=window[0])
        if end is None:
            rows = rows.filter(created_at__lte=window[1])
    zone = _zone_name()
    params: dict[str, Any] = {
        "unit": unit,
        "time_zone": zone,
        "window_start": window[0] if window else None,
        "window_end": window[1] if window else None,
        "with_durations": with_durations,
    }
    fetched = fetch_rows_of_queryset(
        "task_stats", params, rows.values_list(*ROW_COLUMNS), placeholder="{rows}"
    )
    return _assemble(fetched, unit is not None, with_durations, zoneinfo.ZoneInfo(zone))


def _granularity(value: object, errors: dict[str, list[str]]) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value in DEFAULT_BUCKETS:
        return value
    errors["granularity"] = [f"Enter one of {', '.join(DEFAULT_BUCKETS)}, not {value!r}."]
    return None


def _include(value: object, errors: dict[str, list[str]]) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",") if item.strip()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = [item if isinstance(item, str) else repr(item) for item in value]
    else:
        items = [repr(value)]
    unknown = [item for item in items if item not in INCLUDES]
    if unknown:
        errors["include"] = [f"Enter durations (the only extra part), not {unknown[0]!r}."]
    return "durations" in items


def _window(
    unit: str,
    start: dt.date | dt.datetime | None,
    end: dt.date | dt.datetime | None,
    errors: dict[str, list[str]],
) -> tuple[dt.datetime, dt.datetime] | None:
    """Return the first and last instant of the series, checking the number of buckets."""
    try:
        window_end = timezone.now() if end is None else last_instant(end)
    except OverflowError:
        window_end = None
    if window_end is None or window_end > LAST_SERIES_END:
        errors["end_date"] = [f"A time series ends in {LAST_SERIES_END.year} or earlier."]
        return None
    try:
        window_start = (
            default_start(unit, window_end, DEFAULT_BUCKETS[unit])
            if start is None
            else first_instant(start)
        )
    except OverflowError:
        window_start = None
    # Compared, not converted: converting an instant near year 1 to UTC can overflow.
    if window_start is None or window_start < FIRST_SERIES_START:
        name = "start_date" if start is not None else "end_date"
        errors[name] = [f"A time series starts in {FIRST_SERIES_START.year} or later."]
        return None
    count = bucket_count(unit, window_start, window_end)
    if count > MAX_BUCKETS:
        errors["granularity"] = [
            f"{count} {unit} buckets from start_date to end_date; at most {MAX_BUCKETS}. "
            "Narrow the dates or choose a coarser granularity."
        ]
        return None
    return window_start, window_end


def _zone_name() -> str:
    """Return the IANA name of the current time zone (the default one if it has no name)."""
    zone = timezone.get_current_timezone()
    if isinstance(zone, zoneinfo.ZoneInfo):
        return zone.key
    default = timezone.get_default_timezone()
    return default.key if isinstance(default, zoneinfo.ZoneInfo) else "UTC"


def _counts(row: tuple[Any, ...]) -> StatusCounts:
    total, pending, started, success, failure, retry, revoked = row[3:10]
    return StatusCounts(
        total=total,
        pending=pending,
        started=started,
        success=success,
        failure=failure,
        retry=retry,
        revoked=revoked,
    )


def _assemble(
    fetched: list[tuple[Any, ...]],
    with_series: bool,
    with_durations: bool,
    zone: dt.tzinfo,
) -> TaskStats:
    """Shape the statement's rows (kind, key, bucket, counts…, durations…) into TaskStats."""
    # GROUPING SETS always returns the () group, even over no rows; this is only a default.
    total = StatusCounts(total=0, pending=0, started=0, success=0, failure=0, retry=0, revoked=0)
    by_module: dict[str, StatusCounts] = {}
    by_task_name: dict[str, StatusCounts] = {}
    series: list[SeriesBucket] = []
    timings: dict[str, tuple[Any, ...]] = {}
    for row in fetched:
        kind, key, bucket = row[0], row[1], row[2]
        if kind == "total":
            total = _counts(row)
        elif kind == "module":
            by_module[key] = _counts(row)
        elif kind == "task_name":
            by_task_name[key] = _counts(row)
        elif kind == "bucket":
            series.append(SeriesBucket(start=bucket, **_counts(row)))
        elif kind == "duration":
            timings[key] = row
    stats = TaskStats(
        **total,
        by_module=dict(sorted(by_module.items())),
        by_task_name=dict(sorted(by_task_name.items())),
    )
    if with_series:
        # Sorted while in UTC: Python orders two datetimes of one zone by wall time, and the
        # hour repeated when clocks go back would tie with itself.
        series.sort(key=lambda item: item["start"])
        for item in series:
            item["start"] = item["start"].astimezone(zone)
        stats["series"] = series
    if with_durations:
        stats["durations"] = {
            name: _durations(counts, timings.get(name)) for name, counts in by_task_name.items()
        }
    return stats


def _durations(counts: StatusCounts, row: tuple[Any, ...] | None) -> DurationStats:
    ended = counts["success"] + counts["failure"]
    failure_rate = counts["failure"] / ended if ended else None
    if row is None:
        return DurationStats(
            count=0,
            avg=None,
            p50=None,
            p95=None,
            max=None,
            failure_rate=failure_rate,
            queue_wait_p50=None,
            queue_wait_p95=None,
        )
    return DurationStats(
        count=row[3],
        avg=row[10],
        p50=row[11],
        p95=row[12],
        max=row[13],
        failure_rate=failure_rate,
        queue_wait_p50=row[14],
        queue_wait_p95=row[15],
    )
