"""Progress updates per second: the library against a raw psycopg loop, same table, same run.

K processes each send M metadata merges, (a) all into one row and (b) each into its own row.
The library path is ``TaskTracker.update_task_status`` (validation, JSON safety, redaction,
one ``UPDATE … RETURNING``, a model instance back); the raw path is a psycopg loop of
``UPDATE agentcore_task_execution SET metadata = metadata || %s::jsonb WHERE task_id = %s``.
Both pay the same trigger and index maintenance. Lost keys are counted after each run.

    python -m bench.progress_updates [--processes 8] [--updates 300] [--rounds 3]

``--storage`` compares the table's storage settings instead (docs/dba.md, "Storage settings"):
on 200,000 generated rows, rewritten with fillfactor 100 (PostgreSQL's default) and then with
the settings of migration 0005, in the same run, K processes send heartbeats (a STARTED
status written again, metadata unchanged: what a running task's status writes are) and
progress merges (metadata changes) to running rows spread over the table. It prints the
share of HOT updates (no index touched) and the throughput of each.

    python -m bench.progress_updates --storage [--processes 4] [--updates 2000] [--rounds 3]

``--compare notify`` instead measures the library path three ways in the same run, rounds
interleaved: the doorbell off (``AGENTCORE_TASK_NOTIFY = False``: its triggers disabled),
on (the shipped design: inserts and status changes ring, progress merges do not), and a
``pg_notify`` on every update (the design DESIGN.md §7 rejected; a temporary trigger).
``--compare index`` measures it with and without one index (dropped for the "without" rounds
and rebuilt): ``--index agentcore_task_updated`` (the default), which the live hub's poll
uses, or ``agentcore_task_user_unfinished``, which the dashboard overview of an ordinary user
uses.

    python -m bench.progress_updates --compare notify
    python -m bench.progress_updates --compare index [--index agentcore_task_user_unfinished]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
import uuid
from typing import Any

from bench.common import libpq_url, setup_django


def _library_worker(args: tuple[list[str], int, int, float]) -> float:
    task_ids, worker, updates, start_at = args
    setup_django()
    from agentcore_task.services.tracker import TaskTracker

    TaskTracker.update_task_status(task_ids[0], "STARTED")  # warm the connection
    while time.time() < start_at:
        time.sleep(0.001)
    began = time.perf_counter()
    for number in range(updates):
        task_id = task_ids[number % len(task_ids)]
        TaskTracker.update_task_status(
            task_id, "STARTED", metadata={f"w{worker}_{number}": number, "progress_percent": 50}
        )
    return time.perf_counter() - began


def _raw_worker(args: tuple[str, list[str], int, int, float]) -> float:
    import psycopg

    url, task_ids, worker, updates, start_at = args
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SELECT 1")
        while time.time() < start_at:
            time.sleep(0.001)
        began = time.perf_counter()
        for number in range(updates):
            task_id = task_ids[number % len(task_ids)]
            patch = json.dumps({f"w{worker}_{number}": number, "progress_percent": 50})
            connection.execute(
                "UPDATE agentcore_task_execution SET metadata = metadata || %s::jsonb"
                " WHERE task_id = %s",
                (patch, task_id),
            )
    return time.perf_counter() - began


def _register(count: int) -> list[str]:
    from agentcore_task.services.registration import register_task_execution

    ids = [f"bench-{uuid.uuid4()}" for _ in range(count)]
    for task_id in ids:
        register_task_execution(task_id, "bench.progress", "bench", metadata={"tenant": 1})
    return ids


def _lost_keys(task_ids_per_worker: list[list[str]], updates: int) -> int:
    from agentcore_task.models import TaskExecution

    metadata = {}
    all_ids = {task_id for ids in task_ids_per_worker for task_id in ids}
    for row in TaskExecution.objects.filter(task_id__in=all_ids).only("metadata"):
        metadata.update(row.metadata)
    expected = {
        f"w{worker}_{number}"
        for worker in range(len(task_ids_per_worker))
        for number in range(updates)
    }
    return len(expected - metadata.keys())


def run_case(
    url: str, processes: int, updates: int, shared_row: bool, raw: bool
) -> tuple[float, int]:
    """Return (updates per second over all processes, lost keys) for one case."""
    if shared_row:
        ids = _register(1)
        per_worker = [ids for _ in range(processes)]
    else:
        per_worker = [_register(1) for _ in range(processes)]
    start_at = time.time() + 3.0  # every worker connected and waiting before the clock starts
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        if raw:
            durations = pool.map(
                _raw_worker, [(url, per_worker[w], w, updates, start_at) for w in range(processes)]
            )
        else:
            durations = pool.map(
                _library_worker, [(per_worker[w], w, updates, start_at) for w in range(processes)]
            )
    rate = processes * updates / max(durations)
    return rate, _lost_keys(per_worker, updates)


STORAGE_WORKLOADS = {
    "heartbeat": "UPDATE agentcore_task_execution SET status = 'STARTED' WHERE task_id = %s",
    "progress": "UPDATE agentcore_task_execution"
    " SET metadata = metadata"
    " || jsonb_build_object('progress_percent', %s::int, 'progress_message', %s::text)"
    " WHERE task_id = %s",
}


def _storage_worker(args: tuple[str, str, list[str], int, float]) -> float:
    import psycopg

    url, workload, task_ids, updates, start_at = args
    statement = STORAGE_WORKLOADS[workload]
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SELECT 1")
        while time.time() < start_at:
            time.sleep(0.001)
        began = time.perf_counter()
        for number in range(updates):
            task_id = task_ids[number % len(task_ids)]
            # A message never sent before: every progress update really changes metadata.
            message = f"{start_at}-{number}"
            params = (task_id,) if workload == "heartbeat" else (number % 100, message, task_id)
            connection.execute(statement, params)
    return time.perf_counter() - began


def _update_counts(url: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SELECT pg_stat_clear_snapshot()")
        row = connection.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
            " WHERE relname = 'agentcore_task_execution'"
        ).fetchone()
    return int(row[0]), int(row[1])


def _rewrite_with(url: str, options: str | None) -> None:
    """Set the table's storage options (None: PostgreSQL's defaults) and rewrite it."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        if options is None:
            names = _migration().STORAGE_NAMES
            connection.execute(f"ALTER TABLE agentcore_task_execution RESET ({names})")
        else:
            connection.execute(f"ALTER TABLE agentcore_task_execution SET ({options})")
        connection.execute("VACUUM FULL ANALYZE agentcore_task_execution")


def _migration() -> Any:
    """The migration that sets the storage options (its module name starts with a digit)."""
    import importlib

    return importlib.import_module("agentcore_task.migrations.0005_dba")


def storage_case(url: str, workload: str, processes: int, updates: int) -> tuple[float, float]:
    """Return (HOT share of the updates, updates per second) for one workload."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT task_id FROM agentcore_task_execution"
            " WHERE status = 'STARTED' AND task_id LIKE 'bench-%' ORDER BY id"
        ).fetchall()
    task_ids = [row[0] for row in rows]
    per_worker = [task_ids[w::processes] for w in range(processes)]
    before = _update_counts(url)
    start_at = time.time() + 3.0
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        durations = pool.map(
            _storage_worker,
            [(url, workload, per_worker[w], updates, start_at) for w in range(processes)],
        )
    # Each statement updates one row; a backend's counters arrive when its session ends, so
    # wait until all of them have, and no case is charged with another's updates.
    expected, deadline = processes * updates, time.time() + 30
    after = _update_counts(url)
    while after[0] - before[0] < expected and time.time() < deadline:
        time.sleep(0.2)
        after = _update_counts(url)
    if after[0] - before[0] != expected:
        raise RuntimeError(f"counted {after[0] - before[0]} updates, sent {expected}")
    updated, hot = after[0] - before[0], after[1] - before[1]
    return hot / max(updated, 1), processes * updates / max(durations)


def storage_main(processes: int, updates: int, rounds: int) -> None:
    from bench.dataset import ensure_rows

    url = libpq_url(setup_django())
    ensure_rows(200_000)
    settings = {"fillfactor 100 (default)": None, "migration 0005": _migration().STORAGE}
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for label, options in settings.items():
            _rewrite_with(url, options)
            for workload in STORAGE_WORKLOADS:
                results.setdefault((label, workload), []).append(
                    storage_case(url, workload, processes, updates)
                )
    _rewrite_with(url, _migration().STORAGE)  # leave the table as the migration set it
    print(f"{processes} processes x {updates} updates, 200,000 rows, median of {rounds}")
    print(f"{'settings':<26}{'workload':<11}{'HOT %':>7}{'updates/s':>11}{'ratio':>7}")
    for workload in STORAGE_WORKLOADS:
        baseline = statistics.median(r[1] for r in results[(next(iter(settings)), workload)])
        for label in settings:
            hot = statistics.median(r[0] for r in results[(label, workload)])
            rate = statistics.median(r[1] for r in results[(label, workload)])
            print(
                f"{label:<26}{workload:<11}{hot * 100:>7.1f}{rate:>11,.0f}{rate / baseline:>7.2f}"
            )


EVERY_UPDATE_TRIGGER = """
CREATE OR REPLACE FUNCTION bench_notify_every_update() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('agentcore_task_execution',
        json_build_object('id', NEW.id, 'status', NEW.status, 'updated_at', NEW.updated_at)::text);
    RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER bench_notify_every_update AFTER UPDATE ON agentcore_task_execution
    FOR EACH ROW EXECUTE FUNCTION bench_notify_every_update();
"""
DROP_EVERY_UPDATE = """
DROP TRIGGER IF EXISTS bench_notify_every_update ON agentcore_task_execution;
DROP FUNCTION IF EXISTS bench_notify_every_update();
"""


def _sql(statements: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statements)


def _doorbell(mode: str) -> None:
    from agentcore_task.services.doorbell import set_doorbell

    _sql(DROP_EVERY_UPDATE)
    set_doorbell(mode != "off")
    if mode == "every update":
        _sql(EVERY_UPDATE_TRIGGER)


INDEXES = {
    "agentcore_task_updated": "ON agentcore_task_execution (updated_at)",
    "agentcore_task_user_unfinished": (
        "ON agentcore_task_execution (created_by_id, created_at DESC) "
        "WHERE status IN ('PENDING', 'STARTED', 'RETRY')"
    ),
}
"""The indexes ``--compare index`` can drop and rebuild: name and definition."""


def _index_switch(name: str) -> Any:
    def switch(mode: str) -> None:
        if mode == "without":
            _sql(f"DROP INDEX IF EXISTS {name}")
        else:
            _sql(f"CREATE INDEX IF NOT EXISTS {name} {INDEXES[name]}")

    return switch


def compare(url: str, options: argparse.Namespace) -> None:
    """The library path under each variant of the switch, rounds interleaved, same run."""
    if options.compare == "notify":
        variants, switch, restore = ("off", "on", "every update"), _doorbell, "on"
    else:
        variants, switch, restore = ("without", "with"), _index_switch(options.index), "with"
    baseline = variants[0]
    print(f"{options.processes} processes x {options.updates} updates, median of {options.rounds}")
    header = "".join(f"{name + '/s':>16}" for name in variants)
    ratios = "".join(f"{name + ' ratio':>20}" for name in variants[1:])
    print(f"{'case':<14}{header}{ratios}")
    try:
        for label, shared in (("one row", True), ("distinct rows", False)):
            rates: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(options.rounds):
                for name in variants:
                    switch(name)
                    rate, lost = run_case(url, options.processes, options.updates, shared, False)
                    assert lost == 0, f"{lost} keys lost with {name}"
                    rates[name].append(rate)
            medians = {name: statistics.median(values) for name, values in rates.items()}
            cells = "".join(f"{medians[name]:>16,.0f}" for name in variants)
            shares = "".join(f"{medians[name] / medians[baseline]:>20.2f}" for name in variants[1:])
            print(f"{label:<14}{cells}{shares}")
    finally:
        switch(restore)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--updates", type=int, default=300, help="updates per process")
    parser.add_argument("--rounds", type=int, default=3, help="median over this many rounds")
    parser.add_argument("--storage", action="store_true", help="compare storage settings")

    parser.add_argument(
        "--compare",
        choices=["raw", "notify", "index"],
        default="raw",
        help="raw: the library against raw SQL (default); notify: the doorbell off / on / "
        "on every update; index: without / with the index named by --index",
    )
    parser.add_argument(
        "--index",
        choices=sorted(INDEXES),
        default="agentcore_task_updated",
        help="the index --compare index drops and rebuilds",
    )
    options = parser.parse_args()
    if options.storage:
        storage_main(options.processes, options.updates, options.rounds)
        return
    url = libpq_url(setup_django())
    if options.compare != "raw":
        compare(url, options)
        return

    print(f"{options.processes} processes x {options.updates} updates, median of {options.rounds}")
    print(
        f"{'case':<14}{'library/s':>11}{'raw/s':>11}{'ratio':>8}{'lost(lib)':>11}{'lost(raw)':>11}"
    )
    for label, shared in (("one row", True), ("distinct rows", False)):
        library, raw, lost_library, lost_raw = [], [], 0, 0
        for _ in range(options.rounds):
            rate, lost = run_case(url, options.processes, options.updates, shared, raw=True)
            raw.append(rate)
            lost_raw += lost
            rate, lost = run_case(url, options.processes, options.updates, shared, raw=False)
            library.append(rate)
            lost_library += lost
        lib_rate, raw_rate = statistics.median(library), statistics.median(raw)
        print(
            f"{label:<14}{lib_rate:>11,.0f}{raw_rate:>11,.0f}{lib_rate / raw_rate:>8.2f}"
            f"{lost_library:>11}{lost_raw:>11}"
        )


if __name__ == "__main__":
    main()
