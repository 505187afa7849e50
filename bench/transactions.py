"""What leaving the caller's transaction costs: writes inside ``atomic()`` against outside it.

Inside a transaction the caller opened, registrations and tracker writes run on a second,
autocommit connection of the thread (``agentcore_task/transactions.py``), so a worker never
waits for the caller's commit. This measures, in one run and one process:

* registrations per second outside any transaction (one connection, autocommit);
* the same inside ``transaction.atomic()`` blocks of ``--per-block`` registrations each;
* ``dispatch()`` rows inside the same blocks (they join the caller's transaction: the
  baseline of a write that stays in it), with a stub task that publishes nothing;
* the first write of a thread inside a transaction, which opens the second connection.

    python -m bench.transactions [--writes 2000] [--per-block 10] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid

from bench.common import setup_django


class _NoBroker:
    """A task whose ``apply_async`` sends nothing: the benchmark measures the row."""

    name = "bench.transactions.noop"

    def apply_async(self, *args: object, **kwargs: object) -> None:
        return None


def _register_outside(count: int) -> float:
    from agentcore_task import register_task_execution

    began = time.perf_counter()
    for _ in range(count):
        register_task_execution(str(uuid.uuid4()), "bench.noop", "bench")
    return time.perf_counter() - began


def _register_inside(count: int, per_block: int) -> float:
    from django.db import transaction

    from agentcore_task import register_task_execution

    began = time.perf_counter()
    for _ in range(count // per_block):
        with transaction.atomic():
            for _ in range(per_block):
                register_task_execution(str(uuid.uuid4()), "bench.noop", "bench")
    return time.perf_counter() - began


def _dispatch_inside(count: int, per_block: int) -> float:
    from django.db import transaction

    from agentcore_task import dispatch

    task = _NoBroker()
    began = time.perf_counter()
    for _ in range(count // per_block):
        with transaction.atomic():
            for _ in range(per_block):
                dispatch(task)
    return time.perf_counter() - began


def _first_write_in_a_new_thread() -> float:
    """Time the first registration inside atomic() of a fresh thread (opens its connection)."""
    from django.db import connection, transaction

    from agentcore_task import register_task_execution
    from agentcore_task.transactions import close_all_own_connections

    elapsed: list[float] = []

    def run() -> None:
        with transaction.atomic():
            began = time.perf_counter()
            register_task_execution(str(uuid.uuid4()), "bench.noop", "bench")
            elapsed.append(time.perf_counter() - began)
        close_all_own_connections()
        connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return elapsed[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--per-block", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    setup_django()
    _register_outside(50)  # warm up: connection, statement cache
    _register_inside(50, options.per_block)

    results: dict[str, list[float]] = {"outside": [], "inside": [], "dispatch": []}
    for _ in range(options.rounds):
        results["outside"].append(options.writes / _register_outside(options.writes))
        results["inside"].append(options.writes / _register_inside(options.writes, 10))
        results["dispatch"].append(options.writes / _dispatch_inside(options.writes, 10))
    outside = statistics.median(results["outside"])
    print(f"registrations outside a transaction:      {outside:8.0f}/s")
    for key, label in (
        ("inside", "registrations inside atomic() (own conn.)"),
        ("dispatch", "dispatch() inside atomic() (joins it)    "),
    ):
        rate = statistics.median(results[key])
        print(f"{label}: {rate:8.0f}/s  ({rate / outside:.2f}x outside)")
    firsts = sorted(_first_write_in_a_new_thread() * 1000 for _ in range(10))
    print(f"first write of a thread inside atomic() (connects): median {firsts[5]:.1f} ms")


if __name__ == "__main__":
    main()
