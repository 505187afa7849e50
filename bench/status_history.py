"""The status history's cost on progress updates: the trigger with and without its step.

The status trigger appends to ``status_history`` only when the status changes; a progress
merge leaves before that step. This measures it: the library's progress updates
(``TaskTracker.update_progress``) against the same table, alternating between the trigger
function as migrated (with the history step) and the same function without the step,
installed with ``CREATE OR REPLACE FUNCTION`` in this run, in ABBA order. Rows carry a
history of a few entries, as real rows do. A second figure runs the merges in a server-side
loop, without client round trips, where the trigger's share of the time is largest. The
migrated function is put back at the end.

    python -m bench.status_history [--processes 4] [--updates 500] [--rounds 6]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
import uuid

from bench.common import libpq_url, setup_django


def _worker(args: tuple[list[str], int, int, float]) -> float:
    task_ids, worker, updates, start_at = args
    setup_django()
    from agentcore_task.services.tracker import TaskTracker

    TaskTracker.update_progress(task_ids[0], percent=1)  # warm the connection
    while time.time() < start_at:
        time.sleep(0.001)
    began = time.perf_counter()
    for number in range(updates):
        TaskTracker.update_progress(
            task_ids[number % len(task_ids)], percent=number % 100, message=f"w{worker}"
        )
    return time.perf_counter() - began


def _rows(count: int) -> list[str]:
    from agentcore_task.services.tracker import TaskTracker

    ids = [f"bench-{uuid.uuid4()}" for _ in range(count)]
    for task_id in ids:
        TaskTracker.register_task(task_id, "bench.history", "bench")
        TaskTracker.update_task_status(task_id, "STARTED")  # two entries, like a running task
    return ids


def _install(url: str, body: str) -> None:
    import psycopg

    from agentcore_task.triggers import status_rules

    declare = "DECLARE " + " ".join(f"{name} {kind};" for name, kind in status_rules.declare)
    function = status_rules.get_pgid(_model())
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS TRIGGER AS $$ {declare} BEGIN "
            f"{body} END; $$ LANGUAGE plpgsql"
        )


def _model():  # type: ignore[no-untyped-def]
    from agentcore_task.models import TaskExecution

    return TaskExecution


def _rate(processes: int, updates: int) -> float:
    per_worker = [_rows(1) for _ in range(processes)]
    start_at = time.time() + 3.0
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        durations = pool.map(
            _worker, [(per_worker[w], w, updates, start_at) for w in range(processes)]
        )
    return processes * updates / max(durations)


def _server_loop(url: str, task_id: str, updates: int) -> float:
    """Seconds for ``updates`` progress merges run inside PostgreSQL (no client round trips):
    what is left is the UPDATE itself, its trigger and index maintenance."""
    import psycopg

    statement = (
        "DO $$ BEGIN FOR i IN 1..{n} LOOP UPDATE agentcore_task_execution SET metadata = "
        "metadata || jsonb_build_object('progress_percent', i % 100) WHERE task_id = '{id}'; "
        "END LOOP; END $$"
    ).format(n=int(updates), id=task_id.replace("'", ""))
    with psycopg.connect(url, autocommit=True) as connection:
        began = time.perf_counter()
        connection.execute(statement)
        elapsed = time.perf_counter() - began
        connection.execute("VACUUM agentcore_task_execution")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--updates", type=int, default=300, help="updates per process")
    parser.add_argument("--rounds", type=int, default=6, help="median over this many rounds")
    parser.add_argument("--server-updates", type=int, default=3000, help="merges per DO loop")
    parser.add_argument(
        "--server-only", action="store_true", help="only the server loop (short, many rounds)"
    )
    options = parser.parse_args()
    url = libpq_url(setup_django())
    from agentcore_task.triggers import STATUS_HISTORY_STEP, status_rules

    with_step = status_rules.func
    without_step = with_step.replace(STATUS_HISTORY_STEP, "")
    assert without_step != with_step
    variants = {"without history": without_step, "with history": with_step}
    rates: dict[str, list[float]] = {label: [] for label in variants}
    server: dict[str, list[float]] = {label: [] for label in variants}
    (server_row,) = _rows(1)
    try:
        for number in range(options.rounds):
            # ABBA order, so a drift of the shared machine weighs on both alike.
            order = list(variants) if number % 2 == 0 else list(reversed(variants))
            for label in order:
                _install(url, variants[label])
                if not options.server_only:
                    rates[label].append(_rate(options.processes, options.updates))
                seconds = _server_loop(url, server_row, options.server_updates)
                server[label].append(options.server_updates / seconds)
    finally:
        _install(url, with_step)
    if not options.server_only:
        print(f"client: {options.processes} processes x {options.updates} update_progress calls")
        _report(rates)
    print(f"server: {options.server_updates} merges in one DO loop (no round trips)")
    _report(server)


def _report(rates: dict[str, list[float]]) -> None:
    for label, values in rates.items():
        each = ", ".join(f"{value:,.0f}" for value in values)
        print(f"  {label:<16}{statistics.median(values):>10,.0f}/s  (rounds: {each})")
    paired = [with_ / without for without, with_ in zip(*rates.values(), strict=True)]
    before, after = (statistics.median(values) for values in rates.values())
    print(
        f"  ratio with/without: {after / before:.3f} (medians), "
        f"{statistics.median(paired):.3f} (median of the per-round ratios)"
    )


if __name__ == "__main__":
    main()
