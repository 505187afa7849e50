"""get_task_stats against a brute-force count in Python, on PostgreSQL, in Europe/Berlin."""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics
import zoneinfo
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agentcore_task.models import TaskExecution
from agentcore_task.services.stats import StatsArgumentError, get_task_stats
from agentcore_task.services.tracker import TaskTracker
from agentcore_task.status import TaskStatus
from tests.conftest import new_task_id
from tests.rows import rules_lifted

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UTC = dt.UTC
STATUSES = [status.value for status in TaskStatus]
TERMINAL = {"SUCCESS", "FAILURE", "REVOKED"}
MODULES = {
    "billing": ["billing.invoice", "billing.refund", "shared.cleanup"],
    "mail": ["mail.send", "mail.bounce"],
    "search": ["search.reindex", "shared.cleanup"],  # one task name in two modules
}
COLUMNS = (
    "module",
    "task_name",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "created_by_id",
    "metadata",
)

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- data


def insert(rows: list[dict[str, Any]]) -> None:
    """Insert rows with chosen timestamps, as an import would: with the trigger's rules lifted
    (``agentcore_task.override_rules``), so the times are kept as written."""
    with rules_lifted():
        TaskExecution.objects.bulk_create(
            TaskExecution(task_id=new_task_id(), **row) for row in rows
        )


def execution(
    created_at: dt.datetime,
    status: str = "SUCCESS",
    seconds: float | None = 1.0,
    module: str = "billing",
    task_name: str = "billing.invoice",
    **extra: Any,
) -> dict[str, Any]:
    started = None if status == "PENDING" or seconds is None else created_at
    finished = None
    if status in TERMINAL:
        finished = (started or created_at) + dt.timedelta(seconds=seconds or 0)
    return {
        "module": module,
        "task_name": task_name,
        "status": status,
        "created_at": created_at,
        "started_at": started,
        "finished_at": finished,
        **extra,
    }


@pytest.fixture
def random_rows(make_user):
    """Insert seeded random executions and return them as the database holds them."""

    def make(seed: int, count: int = 300) -> list[dict[str, Any]]:
        rng = random.Random(seed)
        users = [make_user().pk for _ in range(3)]
        rows = []
        for _ in range(count):
            module = rng.choice(sorted(MODULES))
            status = rng.choices(STATUSES, weights=[5, 5, 60, 15, 5, 10])[0]
            created = dt.datetime(2024, 10, 1, tzinfo=UTC) + dt.timedelta(
                seconds=rng.randrange(0, 400 * 86400)
            )
            rows.append(
                execution(
                    created,
                    status,
                    seconds=None if rng.random() < 0.1 else rng.uniform(0, 600),
                    module=module,
                    task_name=rng.choice(MODULES[module]),
                    created_by_id=rng.choice([*users, None]),
                    metadata={"tenant": rng.randrange(4), "source": rng.choice(["api", "beat"])},
                )
            )
        insert(rows)
        return list(TaskExecution.objects.values(*COLUMNS))

    return make


# --------------------------------------------------------------------------- brute force


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=BERLIN)


def keep(row: dict[str, Any], filters: dict[str, Any]) -> bool:
    """Apply the list's filters in plain Python."""
    for name, value in filters.items():
        if name in ("module", "task_name", "status") and row[name] != value:
            return False
        if name == "created_by" and row["created_by_id"] != value:
            return False
        if name == "metadata" and any(row["metadata"].get(k) != v for k, v in value.items()):
            return False
        if name == "start_date":
            start = value if isinstance(value, dt.datetime) else local_midnight(value)
            if row["created_at"] < start:
                return False
        if name == "end_date":
            if isinstance(value, dt.datetime):
                if row["created_at"] > value:
                    return False
            elif row["created_at"] >= local_midnight(value + dt.timedelta(days=1)):
                return False
    return True


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {"total": len(rows)} | {s.lower(): sum(r["status"] == s for r in rows) for s in STATUSES}


def brute_force(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def grouped(key: str) -> dict[str, dict[str, int]]:
        names = sorted({row[key] for row in rows})
        return {name: counts([row for row in rows if row[key] == name]) for name in names}

    return counts(rows) | {"by_module": grouped("module"), "by_task_name": grouped("task_name")}


def bucket_of(unit: str, created_at: dt.datetime) -> dt.datetime:
    """Return the bucket start of an instant, the Python way, in UTC.

    In UTC because Python compares two datetimes of one zone by wall time, ignoring ``fold``:
    02:00 CEST and 02:00 CET on the night clocks go back would be "equal".
    """
    local = created_at.astimezone(BERLIN)
    if unit == "hour":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    day = local.date()
    if unit == "week":
        day -= dt.timedelta(days=day.weekday())
    if unit == "month":
        day = day.replace(day=1)
    return local_midnight(day).astimezone(UTC)


def percentile_cont(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def without_extras(stats: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in stats.items() if key not in ("series", "durations")}


# --------------------------------------------------------------------------- counts


FILTER_CASES = [
    {},
    {"module": "billing"},
    {"task_name": "shared.cleanup"},
    {"status": "FAILURE"},
    {"metadata": {"tenant": 2}},
    {"metadata": {"tenant": 1, "source": "beat"}, "module": "search"},
    {"start_date": dt.date(2025, 3, 30)},
    {"end_date": dt.date(2025, 3, 30)},
    {"start_date": dt.date(2025, 1, 1), "end_date": dt.date(2025, 6, 30), "module": "mail"},
    {
        "start_date": dt.datetime(2025, 2, 1, 12, 30, tzinfo=UTC),
        "end_date": dt.datetime(2025, 2, 20, 8, tzinfo=UTC),
    },
    {"module": "nothing-here"},
]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_equal_a_brute_force_count_on_random_rows(random_rows, seed):
    rows = random_rows(seed)
    for filters in FILTER_CASES:
        expected = brute_force([row for row in rows if keep(row, filters)])
        assert get_task_stats(**filters) == expected, filters


def test_created_by_and_queryset_scope_the_counts(random_rows):
    rows = random_rows(4)
    user = next(row["created_by_id"] for row in rows if row["created_by_id"])
    mine = [row for row in rows if row["created_by_id"] == user]

    assert get_task_stats(created_by=user) == brute_force(mine)
    assert get_task_stats(created_by=str(user)) == brute_force(mine)
    scoped = TaskExecution.objects.filter(created_by_id=user)
    billing = [row for row in mine if row["module"] == "billing"]
    assert get_task_stats(module="billing", queryset=scoped) == brute_force(billing)


def test_strings_as_the_api_sends_them_are_accepted(random_rows):
    rows = random_rows(5)
    expected = brute_force(
        [row for row in rows if row["metadata"]["tenant"] == 3 and keep(row, FILTER_CASES[6])]
    )
    assert get_task_stats(metadata='{"tenant": 3}', start_date="2025-03-30") == expected


def test_no_rows_give_zeros_and_empty_groups():
    stats = get_task_stats()
    assert stats == dict.fromkeys(["total", *(s.lower() for s in STATUSES)], 0) | {
        "by_module": {},
        "by_task_name": {},
    }
    assert get_task_stats(queryset=TaskExecution.objects.none()) == stats


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"granularity": "day"},
        {"include": "durations"},
        {"granularity": "week", "include": ["durations"]},
    ],
)
def test_one_query_whatever_is_asked(random_rows, options):
    random_rows(6, count=50)
    with CaptureQueriesContext(connection) as captured:
        get_task_stats(module="billing", metadata={"tenant": 1}, **options)
    assert len(captured.captured_queries) == 1
    assert "agentcore_task_execution" in captured.captured_queries[0]["sql"]


def test_filters_reach_the_indexes(random_rows):
    """Filters are WHERE clauses of each scan, so indexes serve them (seq scans forbidden)."""
    random_rows(7, count=50)
    with CaptureQueriesContext(connection) as captured:
        get_task_stats(module="billing", include="durations")
        get_task_stats(metadata={"tenant": 1})
        get_task_stats(task_name="mail.send", granularity="day", include="durations")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plans = []
        for query in captured.captured_queries:
            cursor.execute("EXPLAIN " + query["sql"])
            plans.append("\n".join(line for (line,) in cursor.fetchall()))
    assert all("Seq Scan on agentcore_task_execution" not in plan for plan in plans)
    assert "agentcore_task_by_module" in plans[0]
    assert "agentcore_task_meta_gin" in plans[1]


def test_tracker_exposes_the_service_on_the_class_and_on_an_instance(random_rows):
    random_rows(8, count=20)
    expected = get_task_stats(module="mail")
    assert TaskTracker.get_task_stats(module="mail") == expected
    assert TaskTracker().get_task_stats(module="mail") == expected


# --------------------------------------------------------------------------- series


@pytest.mark.parametrize(
    ("unit", "start", "end", "buckets"),
    [
        ("day", dt.date(2025, 3, 1), dt.date(2025, 4, 30), 61),
        ("week", dt.date(2024, 12, 1), dt.date(2025, 6, 1), 27),
        ("month", dt.date(2024, 10, 1), dt.date(2025, 11, 3), 14),
        ("hour", dt.date(2025, 10, 25), dt.date(2025, 10, 27), 73),  # 24 + 25 + 24
    ],
)
def test_series_equals_a_brute_force_bucketing(random_rows, unit, start, end, buckets):
    rows = [row for row in random_rows(9, count=400) if keep(row, {"start_date": start})]
    rows = [row for row in rows if keep(row, {"end_date": end, "module": "billing"})]

    stats = get_task_stats(module="billing", start_date=start, end_date=end, granularity=unit)

    series = stats["series"]
    assert len(series) == buckets
    starts = [bucket["start"].astimezone(UTC) for bucket in series]
    assert starts == sorted(set(starts))
    assert starts[0] == bucket_of(unit, local_midnight(start))
    expected: dict[dt.datetime, list[dict[str, Any]]] = {}
    for row in rows:
        expected.setdefault(bucket_of(unit, row["created_at"]), []).append(row)
    for bucket in series:
        assert bucket["start"].tzinfo == BERLIN
        assert {k: v for k, v in bucket.items() if k != "start"} == counts(
            expected.pop(bucket["start"].astimezone(UTC), [])
        ), bucket["start"]
    assert expected == {}, "rows outside every bucket"
    assert sum(bucket["total"] for bucket in series) == stats["total"] == len(rows)


def test_day_buckets_follow_the_dst_change_of_berlin():
    # 2025-03-30: clocks jump from 02:00 to 03:00, the day lasts 23 hours.
    insert(
        [
            execution(dt.datetime(2025, 3, 29, 23, 30, tzinfo=BERLIN)),  # 22:30 UTC on the 29th
            execution(dt.datetime(2025, 3, 30, 0, 30, tzinfo=BERLIN)),  # 23:30 UTC on the 29th
            execution(dt.datetime(2025, 3, 30, 23, 30, tzinfo=BERLIN)),  # 21:30 UTC on the 30th
            execution(dt.datetime(2025, 3, 31, 0, 30, tzinfo=BERLIN)),  # 22:30 UTC on the 30th
        ]
    )
    stats = get_task_stats(
        start_date="2025-03-29", end_date="2025-03-31", granularity="day", include="durations"
    )
    assert [(b["start"].isoformat(), b["total"]) for b in stats["series"]] == [
        ("2025-03-29T00:00:00+01:00", 1),
        ("2025-03-30T00:00:00+01:00", 2),
        ("2025-03-31T00:00:00+02:00", 1),
    ]


def test_hour_buckets_are_real_hours_across_both_dst_changes():
    fall_back = [
        dt.datetime(2025, 10, 26, 0, 30, tzinfo=UTC),  # 02:30 CEST
        dt.datetime(2025, 10, 26, 1, 30, tzinfo=UTC),  # 02:30 CET, the repeated hour
    ]
    insert([execution(when) for when in fall_back])

    autumn = get_task_stats(start_date="2025-10-26", end_date="2025-10-26", granularity="hour")
    spring = get_task_stats(start_date="2025-03-30", end_date="2025-03-30", granularity="hour")

    assert len(autumn["series"]) == 25
    assert len(spring["series"]) == 23
    busy = [(b["start"].isoformat(), b["total"]) for b in autumn["series"] if b["total"]]
    assert busy == [("2025-10-26T02:00:00+02:00", 1), ("2025-10-26T02:00:00+01:00", 1)]
    assert "2025-03-30T02:00:00" not in str([b["start"].isoformat() for b in spring["series"]])


def test_the_same_month_of_two_years_is_two_buckets():
    insert(
        [
            execution(dt.datetime(2024, 3, 15, 12, tzinfo=BERLIN)),
            execution(dt.datetime(2025, 3, 15, 12, tzinfo=BERLIN), status="FAILURE"),
            execution(dt.datetime(2025, 3, 31, 23, 59, tzinfo=BERLIN)),  # 21:59 UTC: still March
        ]
    )
    stats = get_task_stats(start_date="2024-01-01", end_date="2025-12-31", granularity="month")

    march = {b["start"].date(): b for b in stats["series"] if b["start"].month == 3}
    assert len(stats["series"]) == 24
    assert (march[dt.date(2024, 3, 1)]["total"], march[dt.date(2024, 3, 1)]["failure"]) == (1, 0)
    assert (march[dt.date(2025, 3, 1)]["total"], march[dt.date(2025, 3, 1)]["failure"]) == (2, 1)


def test_without_dates_the_window_is_the_last_30_days_and_covers_every_count():
    now = timezone.now()
    insert(
        [
            execution(now - dt.timedelta(days=2)),
            execution(now - dt.timedelta(days=29), module="mail", task_name="mail.send"),
            execution(now - dt.timedelta(days=45)),
        ]
    )
    stats = get_task_stats(granularity="day")

    series = stats["series"]
    assert len(series) == 30
    assert series[-1]["start"] == bucket_of("day", now)
    assert stats["total"] == sum(b["total"] for b in series) == 2
    assert set(stats["by_module"]) == {"billing", "mail"}
    assert len(get_task_stats(granularity="hour")["series"]) == 24
    assert len(get_task_stats(granularity="week")["series"]) == 12
    assert len(get_task_stats(granularity="month")["series"]) == 12


def test_end_date_alone_ends_the_default_window():
    stats = get_task_stats(end_date="2025-03-31", granularity="month")
    assert [b["start"].date().isoformat() for b in stats["series"][:1]] == ["2024-04-01"]
    assert len(stats["series"]) == 12
    assert all(b["total"] == 0 for b in stats["series"])


def test_series_only_when_asked_and_empty_when_the_window_is_reversed():
    assert "series" not in get_task_stats()
    assert (
        get_task_stats(start_date="2025-02-01", end_date="2025-01-01", granularity="day")["series"]
        == []
    )


def test_at_most_1000_buckets():
    start = dt.date(2020, 1, 1)
    fits = get_task_stats(
        start_date=start, end_date=start + dt.timedelta(days=999), granularity="day"
    )
    assert len(fits["series"]) == 1000
    with pytest.raises(StatsArgumentError, match="granularity: 1001 day buckets") as caught:
        get_task_stats(
            start_date=start, end_date=start + dt.timedelta(days=1000), granularity="day"
        )
    assert set(caught.value.errors) == {"granularity"}
    with pytest.raises(ValueError, match="start_date: A time series starts in 1900 or later"):
        get_task_stats(start_date="0001-01-01", end_date="0001-01-02", granularity="day")
    with pytest.raises(ValueError, match="end_date: A time series starts in 1900"):
        get_task_stats(end_date="0001-01-02", granularity="month")


# --------------------------------------------------------------------------- durations


def test_durations_per_task_name():
    when = dt.datetime(2025, 5, 5, 12, tzinfo=UTC)
    insert(
        [
            *(execution(when, "SUCCESS", seconds) for seconds in (1, 2, 3, 4, 10)),
            execution(when, "FAILURE", 5),
            execution(when, "REVOKED", None),  # revoked before it started: no run time
            execution(when, "STARTED", 100),  # running: not finished
            execution(when, "PENDING"),
            execution(when, "PENDING", module="mail", task_name="mail.send"),
        ]
    )
    durations = get_task_stats(include="durations")["durations"]

    invoice = durations["billing.invoice"]
    assert invoice["count"] == 6
    assert invoice["avg"] == pytest.approx(25 / 6)
    assert invoice["p50"] == pytest.approx(3.5)
    assert invoice["p95"] == pytest.approx(percentile_cont([1, 2, 3, 4, 5, 10], 0.95))
    assert invoice["max"] == pytest.approx(10)
    assert invoice["failure_rate"] == pytest.approx(1 / 6)
    assert durations["mail.send"] == {
        "count": 0,
        "avg": None,
        "p50": None,
        "p95": None,
        "max": None,
        "failure_rate": None,
        "queue_wait_p50": None,
        "queue_wait_p95": None,
    }


def test_durations_equal_a_brute_force_on_random_rows(random_rows):
    rows = random_rows(10, count=500)
    stats = get_task_stats(include="durations", module="billing", metadata={"source": "api"})
    durations = stats["durations"]

    rows = [row for row in rows if keep(row, {"module": "billing", "metadata": {"source": "api"}})]
    assert set(durations) == {row["task_name"] for row in rows}
    for name, figures in durations.items():
        runs = [
            (row["finished_at"] - row["started_at"]).total_seconds()
            for row in rows
            if row["task_name"] == name and row["status"] in TERMINAL and row["started_at"]
        ]
        ended = [row["status"] for row in rows if row["task_name"] == name]
        failures, successes = ended.count("FAILURE"), ended.count("SUCCESS")
        assert figures["count"] == len(runs)
        assert figures["avg"] == pytest.approx(statistics.fmean(runs))
        assert figures["p50"] == pytest.approx(percentile_cont(runs, 0.5))
        assert figures["p95"] == pytest.approx(percentile_cont(runs, 0.95))
        assert figures["max"] == pytest.approx(max(runs))
        assert figures["failure_rate"] == pytest.approx(failures / (failures + successes))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("arguments", "bad"),
    [
        ({"granularity": "year"}, {"granularity"}),
        ({"include": "everything"}, {"include"}),
        ({"include": ["durations", "series"]}, {"include"}),
        ({"start_date": "yesterday"}, {"start_date"}),
        ({"end_date": "2025-13-01"}, {"end_date"}),
        ({"metadata": "[1]"}, {"metadata"}),
        ({"metadata": "{not json"}, {"metadata"}),
        ({"created_by": "abc"}, {"created_by"}),
        ({"status": "DONE"}, {"status"}),
        (
            {"granularity": "Day", "status": "DONE", "start_date": "x"},
            {"granularity", "status", "start_date"},
        ),
        (
            {"end_date": "9999-12-31", "start_date": "9999-12-01", "granularity": "day"},
            {"end_date"},
        ),
    ],
)
def test_bad_input_is_a_value_error_naming_the_parameter(arguments, bad):
    with CaptureQueriesContext(connection) as captured, pytest.raises(ValueError) as caught:
        get_task_stats(**arguments)
    assert isinstance(caught.value, StatsArgumentError)
    assert set(caught.value.errors) == bad
    assert all(name in str(caught.value) for name in bad)
    assert captured.captured_queries == [], "no SQL for bad input"


def test_created_by_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="created_by"):
        get_task_stats(created_by=1.5)


@pytest.mark.parametrize("search", ["a\rb", "line\r\nbreak", "\r"])
def test_a_carriage_return_in_a_filter_value_is_just_text(make_execution, search):
    """Found by the fuzzer: the statement's comment once received the compiled filter SQL,
    and a carriage return in a literal ended that comment (a 500 on stats/)."""
    from agentcore_task.services.queries import list_task_executions

    make_execution(task_name="tests.carriage", task_kwargs={"text": search})
    assert get_task_stats(search=search)["total"] == list_task_executions(search=search).count()
