"""Progress updates per second: the library against a raw psycopg loop, same table, same run.

K processes each send M metadata merges, (a) all into one row and (b) each into its own row.
The library path is ``TaskTracker.update_task_status`` (validation, JSON safety, redaction,
one ``UPDATE … RETURNING``, a model instance back); the raw path is a psycopg loop of
``UPDATE agentcore_task_execution SET metadata = metadata || %s::jsonb WHERE task_id = %s``.
Both pay the same trigger and index maintenance. Lost keys are counted after each run.

    python -m bench.progress_updates [--processes 8] [--updates 300] [--rounds 3]

``--compare notify`` instead measures the library path three ways in the same run, rounds
interleaved: the doorbell off (``AGENTCORE_TASK_NOTIFY = False``: its triggers disabled),
on (the shipped design: inserts and status changes ring, progress merges do not), and a
``pg_notify`` on every update (the design DESIGN.md §7 rejected; a temporary trigger).
``--compare index`` measures it with and without the ``updated_at`` index the live hub's
poll uses (dropped for the "without" rounds and rebuilt).

    python -m bench.progress_updates --compare notify
    python -m bench.progress_updates --compare index
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
import uuid

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


def _index(mode: str) -> None:
    if mode == "without":
        _sql("DROP INDEX IF EXISTS agentcore_task_updated")
    else:
        _sql(
            "CREATE INDEX IF NOT EXISTS agentcore_task_updated "
            "ON agentcore_task_execution (updated_at)"
        )


def compare(url: str, options: argparse.Namespace) -> None:
    """The library path under each variant of the switch, rounds interleaved, same run."""
    if options.compare == "notify":
        variants, switch, restore = ("off", "on", "every update"), _doorbell, "on"
    else:
        variants, switch, restore = ("without", "with"), _index, "with"
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
    parser.add_argument(
        "--compare",
        choices=["raw", "notify", "index"],
        default="raw",
        help="raw: the library against raw SQL (default); notify: the doorbell off / on / "
        "on every update; index: without / with the updated_at index",
    )
    options = parser.parse_args()
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
