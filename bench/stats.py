"""Stats on 1,000,000 rows: the service against its own SQL, the flat GROUP BY floor, naive counts.

Loads N executions (20 modules, 200 task names with a skewed popularity, weighted statuses,
one year of created_at in insertion order, metadata with 1,000 tenants and 50 sources) into a
database of its own with one ``INSERT … SELECT generate_series`` (indexes dropped and the
status trigger disabled during the load, then rebuilt; ``VACUUM ANALYZE``), then times, in
the same run and in alternating order, median of ``--rounds``:

* the service ``get_task_stats(**filters)`` (Django, one statement, the result dict built);
* its SQL statement alone, sent as text through psycopg;
* the floor: ``SELECT module, task_name, status, count(*) … GROUP BY module, task_name,
  status`` with the same WHERE — the least work any answer needs;
* plain ``GROUPING SETS`` straight over the table (what the statement avoids), for reference;
* the naive approach — one ``COUNT(*)`` per status per module, per task name and in total —
  time-boxed: a sample of each kind of count is timed and the whole is extrapolated;
* the opt-in parts: ``granularity=day`` (default window: the last 30 days, so fewer rows),
  ``granularity=month`` over the whole year, and ``include=durations`` beside the floor of
  its own work (``percentile_cont`` grouped by task name alone).

The database is dropped at the end unless ``--keep`` (then a rerun skips the load).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/agentcore_task_bench_stats \\
        python -m bench.stats [--rows 1000000] [--rounds 5] [--sample 15] [--keep]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.common import libpq_url, setup_django

BENCH_DATABASE = "agentcore_task_bench_stats"
TABLE = "agentcore_task_execution"
STATUSES = ("PENDING", "STARTED", "SUCCESS", "FAILURE", "RETRY", "REVOKED")

LOAD = """
INSERT INTO agentcore_task_execution (
    task_id, task_name, module, status, created_at, started_at, finished_at, updated_at,
    task_args, task_kwargs, metadata)
SELECT 'bench-' || g,
       format('mod%s.tasks.task_%s', lpad((t % 20)::text, 2, '0'), lpad(t::text, 3, '0')),
       format('mod%s', lpad((t % 20)::text, 2, '0')),
       status,
       created_at,
       CASE WHEN status = 'PENDING' OR (status = 'REVOKED' AND r_start < 0.5) THEN NULL
            ELSE created_at + r_start * interval '5 seconds' END,
       CASE WHEN status IN ('SUCCESS', 'FAILURE', 'REVOKED')
            THEN created_at + interval '5 seconds'
                 + exp(r_run * 6 + (t % 7)) * interval '1 second' END,
       created_at,
       '[]', '{}',
       jsonb_build_object('tenant', tenant, 'source', 'source-' || source,
                          'progress_percent', 100)
FROM (
    SELECT g,
           floor(200 * random() ^ 2)::int AS t,
           CASE WHEN r < 0.80 THEN 'SUCCESS' WHEN r < 0.88 THEN 'FAILURE'
                WHEN r < 0.91 THEN 'REVOKED' WHEN r < 0.94 THEN 'STARTED'
                WHEN r < 0.96 THEN 'RETRY' ELSE 'PENDING' END AS status,
           now() - interval '365 days' + (g + r) * interval '365 days' / {rows} AS created_at,
           r_start, r_run, tenant, source
    FROM (SELECT g, random() AS r, random() AS r_start, random() AS r_run,
                 floor(random() * 1000)::int AS tenant, floor(random() * 50)::int AS source
          FROM generate_series(1, {rows}) AS g) AS drawn
) AS generated
"""

# (label, get_task_stats filters, the same filter as SQL for the raw statements)
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("all rows", {}, "TRUE"),
    ("module filter", {"module": "mod03"}, "module = 'mod03'"),
    ("tenant filter (GIN)", {"metadata": {"tenant": 7}}, "metadata @> '{\"tenant\": 7}'"),
]


def load(connection: Any, rows: int) -> None:
    """Fill the table with ``rows`` generated executions, unless it already holds them."""
    (present,) = connection.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
    if present == rows:
        print(f"reusing the {rows:,} rows already loaded")
        return
    began = time.perf_counter()
    connection.execute(f"TRUNCATE {TABLE}")
    indexes = connection.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        (TABLE, TABLE),
    ).fetchall()
    for name, _ in indexes:
        connection.execute(f'DROP INDEX "{name}"')
    connection.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
    try:
        connection.execute("SELECT setseed(0.42)")  # the same rows on every load
        connection.execute(LOAD.replace("{rows}", str(int(rows))))
    finally:
        connection.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
    connection.execute("SET maintenance_work_mem = '256MB'")
    for _, definition in indexes:
        connection.execute(definition)
    connection.execute(f"VACUUM (ANALYZE) {TABLE}")
    print(f"loaded {rows:,} rows in {time.perf_counter() - began:.1f} s")


def naive_counts(connection: Any, where: str, sample: int) -> tuple[float, int]:
    """Estimate the one-COUNT-per-status-per-group approach from a timed sample of each kind.

    Returns (extrapolated seconds, number of COUNT queries it would send).
    """
    modules = [
        m for (m,) in connection.execute(f"SELECT DISTINCT module FROM {TABLE} WHERE {where}")
    ]
    names = [
        n for (n,) in connection.execute(f"SELECT DISTINCT task_name FROM {TABLE} WHERE {where}")
    ]
    kinds = {
        "total": [("TRUE", None, s) for s in STATUSES],
        "module": [("module = %s", m, s) for m in modules for s in STATUSES],
        "task_name": [("task_name = %s", n, s) for n in names for s in STATUSES],
    }
    rng = random.Random(0)
    estimate, queries = 0.0, 0
    for kind in kinds.values():
        picked = rng.sample(kind, min(sample, len(kind)))
        began = time.perf_counter()
        for condition, value, status in picked:
            params = (status,) if value is None else (value, status)
            connection.execute(
                f"SELECT count(*) FROM {TABLE} WHERE {where} AND {condition} AND status = %s",
                params,
            ).fetchone()
        estimate += (time.perf_counter() - began) / len(picked) * len(kind)
        queries += len(kind)
    return estimate, queries


def median_times(functions: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Time each function ``rounds`` times, in an order rotated every round; return medians."""
    names = list(functions)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm caches and plans once
        functions[name]()
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            began = time.perf_counter()
            functions[name]()
            samples[name].append(time.perf_counter() - began)
    return {name: statistics.median(values) for name, values in samples.items()}


def run_case(
    connection: Any, label: str, filters: dict[str, Any], where: str, options: argparse.Namespace
) -> None:
    from django.db import connection as django_connection
    from django.test.utils import CaptureQueriesContext

    from agentcore_task.services.stats import get_task_stats

    with CaptureQueriesContext(django_connection) as captured:
        get_task_stats(**filters)
    statement = captured.captured_queries[0]["sql"]
    year_ago = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=366)).date()

    def sql(text: str) -> Callable[[], object]:
        return lambda: connection.execute(text).fetchall()

    times = median_times(
        {
            "service": lambda: get_task_stats(**filters),
            "its SQL alone": sql(statement),
            "flat GROUP BY (floor)": sql(
                f"SELECT module, task_name, status, count(*) FROM {TABLE} WHERE {where} "
                "GROUP BY module, task_name, status"
            ),
            "plain GROUPING SETS": sql(
                "SELECT module, task_name, count(*), "
                + ", ".join(f"count(*) FILTER (WHERE status = '{s}')" for s in STATUSES)
                + f" FROM {TABLE} WHERE {where} "
                "GROUP BY GROUPING SETS ((), (module), (task_name))"
            ),
            "service + series (day, last 30 days)": lambda: get_task_stats(
                **filters, granularity="day"
            ),
            "service + series (month, whole year)": lambda: get_task_stats(
                **filters, granularity="month", start_date=year_ago
            ),
            "service + durations": lambda: get_task_stats(**filters, include="durations"),
            "durations' own floor": sql(
                "SELECT task_name, count(*), avg(seconds), percentile_cont(ARRAY[0.5, 0.95]) "
                "WITHIN GROUP (ORDER BY seconds), max(seconds) FROM (SELECT task_name, "
                "extract(epoch FROM finished_at - started_at)::float8 AS seconds "
                f"FROM {TABLE} WHERE {where} AND status IN ('SUCCESS', 'FAILURE', 'REVOKED') "
                "AND started_at IS NOT NULL AND finished_at IS NOT NULL) AS finished "
                "GROUP BY task_name"
            ),
        },
        options.rounds,
    )
    naive, queries = naive_counts(connection, where, options.sample)
    floor = times["flat GROUP BY (floor)"]
    print(f"\n{label}  (rows counted: {get_task_stats(**filters)['total']:,})")
    for name, seconds in times.items():
        print(f"  {name:<38}{seconds * 1000:>8.0f} ms{seconds / floor:>8.2f}x floor")
    print(
        f"  {'naive COUNT per status per group':<38}{naive * 1000:>8.0f} ms{naive / floor:>8.0f}x"
        f" floor  (extrapolated: {queries:,} queries, {options.sample} of each kind timed)"
    )


def drop_database(url: str) -> None:
    import psycopg
    from django.db import connections
    from psycopg import conninfo, sql

    connections.close_all()
    params = conninfo.conninfo_to_dict(url)
    with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(params["dbname"]))
        )
    print(f"dropped database {params['dbname']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5, help="median over this many rounds")
    parser.add_argument("--sample", type=int, default=15, help="naive counts timed per kind")
    parser.add_argument("--keep", action="store_true", help="keep the database for a rerun")
    options = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        from devservers import resolve_database_url

        os.environ["DATABASE_URL"] = resolve_database_url(BENCH_DATABASE)
    url = libpq_url(setup_django())
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as connection:
            load(connection, options.rows)
            (settings,) = connection.execute(
                "SELECT json_object_agg(name, setting) FROM pg_settings WHERE name IN "
                "('max_parallel_workers_per_gather', 'work_mem', 'jit', 'server_version')"
            ).fetchone()
            print(f"{os.cpu_count()} cores; {json.dumps(settings)}; median of {options.rounds}")
            for label, filters, where in CASES:
                run_case(connection, label, filters, where, options)
    finally:
        if not options.keep:
            drop_database(url)


if __name__ == "__main__":
    main()
