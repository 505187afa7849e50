"""Progress updates per second: the library against a raw psycopg loop, same table, same run.

K processes each send M metadata merges, (a) all into one row and (b) each into its own row.
The library path is ``TaskTracker.update_task_status`` (validation, JSON safety, redaction,
one ``UPDATE … RETURNING``, a model instance back); the raw path is a psycopg loop of
``UPDATE agentcore_task_execution SET metadata = metadata || %s::jsonb WHERE task_id = %s``.
Both pay the same trigger and index maintenance. Lost keys are counted after each run.

    python -m bench.progress_updates [--processes 8] [--updates 300] [--rounds 3]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--updates", type=int, default=300, help="updates per process")
    parser.add_argument("--rounds", type=int, default=3, help="median over this many rounds")
    options = parser.parse_args()
    url = libpq_url(setup_django())

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
