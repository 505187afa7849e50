"""Does a big cleanup hold up progress updates? 500,000 old rows deleted under live updates.

Loads N old finished executions (60 days old) into a database of its own with one
``INSERT … SELECT generate_series``, plus one live STARTED execution per updater. Then K
processes call ``TaskTracker.update_progress`` on their live row in a loop, each call timed,
for the whole run:

* baseline: ``--baseline`` seconds of updates with nothing else running;
* cleanup: ``cleanup_old_executions(retention_days=30)`` runs (batches of
  ``--batch-size``) while the updates go on.

It prints, for each window, the number of updates and their p50 / p99 / longest latency
(a progress update that waited for a lock shows up as a long one), and the cleanup's
duration and rows per second. The database is dropped at the end unless ``--keep``.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/agentcore_task_bench_cleanup \\
        python -m bench.cleanup_locks [--rows 500000] [--updaters 4] [--baseline 8]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
import uuid
from typing import Any

from bench.common import libpq_url, setup_django

BENCH_DATABASE = "agentcore_task_bench_cleanup"

LOAD = """
INSERT INTO agentcore_task_execution (
    task_id, task_name, module, status, created_at, started_at, finished_at, updated_at,
    task_args, task_kwargs, metadata)
SELECT 'old-' || g, 'bench.tasks.task_' || (g %% 50), 'bench', 'SUCCESS',
       now() - interval '60 days' + g * interval '1 second',
       now() - interval '60 days' + g * interval '1 second',
       now() - interval '60 days' + g * interval '1 second' + interval '3 seconds',
       now() - interval '60 days' + g * interval '1 second',
       '[]', jsonb_build_object('feed', g %% 5000),
       jsonb_build_object('tenant', g %% 1000, 'progress_percent', 100)
FROM generate_series(1, %(rows)s) AS g
"""


def _updater(task_id: str, stop: Any, results: Any) -> None:
    """In a child: update one live row's progress until ``stop`` is set; send the samples.

    Each sample is (wall-clock start, seconds taken).
    """
    import django

    django.setup()
    from agentcore_task.services.tracker import TaskTracker

    samples = []
    percent = 0
    while not stop.is_set():
        percent = (percent + 1) % 101
        started = time.time()
        TaskTracker.update_progress(task_id, percent=percent, message="working", step="bench")
        samples.append((started, time.time() - started))
    results.put(samples)


def _summary(label: str, latencies: list[float]) -> str:
    if not latencies:
        return f"{label}: no updates"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{label}: {len(ordered):,} updates, p50 {statistics.median(ordered) * 1000:.2f} ms, "
        f"p99 {p99 * 1000:.2f} ms, longest {ordered[-1] * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--updaters", type=int, default=4)
    parser.add_argument("--baseline", type=float, default=8.0, help="seconds without cleanup")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    options = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", f"postgresql://postgres@127.0.0.1:5432/{BENCH_DATABASE}")
    url = setup_django()
    from django.db import connection, connections

    from agentcore_task.services.maintenance import cleanup_old_executions
    from agentcore_task.services.registration import register_task_execution

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE agentcore_task_execution")
        cursor.execute(LOAD, {"rows": options.rows})
        cursor.execute("VACUUM ANALYZE agentcore_task_execution")
    print(f"loaded {options.rows:,} old rows in {time.perf_counter() - started:.1f} s")
    live = [f"live-{uuid.uuid4()}" for _ in range(options.updaters)]
    for task_id in live:
        register_task_execution(task_id, "bench.tasks.live", "bench", initial_status="STARTED")
    connections.close_all()

    # The updaters run through both windows; the cleanup starts when the baseline ends.
    context = multiprocessing.get_context("spawn")
    stop, results = context.Event(), context.Queue()
    updaters = [context.Process(target=_updater, args=(task_id, stop, results)) for task_id in live]
    for process in updaters:
        process.start()
    time.sleep(5.0)  # the children set Django up and start updating
    baseline_began = time.time()
    time.sleep(options.baseline)
    cleanup_began = time.time()
    result = cleanup_old_executions(retention_days=30, batch_size=options.batch_size)
    cleanup_ended = time.time()
    stop.set()
    samples = [sample for _ in updaters for sample in results.get(timeout=60)]
    for process in updaters:
        process.join(timeout=30)

    def window(begin: float, end: float) -> list[float]:
        return [seconds for start, seconds in samples if begin <= start < end]

    duration = cleanup_ended - cleanup_began
    print(f"{options.updaters} updater processes, one live row each")
    print(_summary("baseline (no cleanup)", window(baseline_began, cleanup_began)))
    print(_summary("during cleanup", window(cleanup_began, cleanup_ended)))
    print(
        f"cleanup: {result['deleted']:,} rows in {result['batches']} batches of "
        f"{options.batch_size:,}, {duration:.2f} s, {result['deleted'] / duration:,.0f} rows/s"
    )
    if not options.keep:
        _drop(url)


def _drop(url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    name = url.rsplit("/", 1)[1].split("?")[0]
    admin = libpq_url(url).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
