"""Lock round trips per second: each backend against the raw commands it wraps, same run.

Library: ``acquire_task_lock`` + ``release_task_lock`` with ``backend="cache"`` (Django's
RedisCache) and ``backend="advisory"`` (PostgreSQL). Raw baselines: redis-py running the
backend's own two Lua scripts (``SET NX PX`` with the registry entry, the compare-and-delete),
and psycopg
``SELECT pg_try_advisory_lock(k)`` + ``SELECT pg_advisory_unlock(k)`` on an autocommit
connection. For reference, Django's ``cache.add`` + ``cache.delete`` (no owner check).

Uncontended: one process takes and releases its lock in a loop (attempts/s = cycles/s).
Contended: N processes loop on one shared lock name, releasing when they win (attempts/s over
all processes; "won" counts the successful ones). Raw and library run in alternating short
windows, all processes switching together, so a change in the machine's load hits both.

    python -m bench.locks [--pairs 10] [--window 0.5] [--processes 8]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import statistics
import time
import uuid
from collections.abc import Callable

from bench.common import libpq_url

BENCH_DATABASE = "agentcore_task_bench_locks"
TTL = 60
Step = Callable[[], bool]


def setup() -> str:
    """Set Django up on the benchmark database (created if missing) and return its URL."""
    from devservers import resolve_database_url

    url = os.environ.get("DATABASE_URL") or resolve_database_url(BENCH_DATABASE)
    os.environ["DATABASE_URL"] = url
    _ensure_database(libpq_url(url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    return libpq_url(url)


def _ensure_database(url: str) -> None:
    import psycopg
    from psycopg import conninfo, sql

    params = conninfo.conninfo_to_dict(url)
    name = str(params["dbname"])
    with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as connection:
        if not connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _steps(kind: str, name: str, url: str) -> tuple[Step, Step]:
    """Return (try to take the lock, release it) for one implementation."""
    if kind in ("cache", "advisory"):
        from agentcore_task.locks import acquire_task_lock, release_task_lock

        return (
            lambda: acquire_task_lock(name, TTL, backend=kind),
            lambda: release_task_lock(name, backend=kind),
        )
    if kind == "django-cache":
        from django.core.cache import cache

        return (lambda: cache.add(name, "owner", TTL), lambda: cache.delete(name))
    if kind == "raw-redis":
        import redis

        from agentcore_task.locks.cache import _ACQUIRE_SCRIPT, _RELEASE_SCRIPT

        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        take = client.register_script(_ACQUIRE_SCRIPT)
        script = client.register_script(_RELEASE_SCRIPT)
        key, token = f"bench:{name}", f"owner-{uuid.uuid4()}"
        keys = [key, "bench:lock-registry"]
        return (
            lambda: bool(take(keys=keys, args=[token, TTL * 1000, "{}"])),
            lambda: bool(script(keys=keys, args=[token])),
        )
    if kind == "raw-advisory":
        import psycopg

        from agentcore_task.locks import advisory_lock_key

        cursor = psycopg.connect(url, autocommit=True).cursor()
        key = advisory_lock_key(name)

        def run(statement: str) -> bool:
            cursor.execute(statement, (key,))
            row = cursor.fetchone()
            return bool(row and row[0])

        return (
            lambda: run("SELECT pg_try_advisory_lock(%s)"),
            lambda: run("SELECT pg_advisory_unlock(%s)"),
        )
    raise ValueError(kind)


def _worker(args: tuple[tuple[str, str], str, str, float, float, int]) -> list[tuple[int, int]]:
    """Loop take/release in alternating windows of raw and library; (attempts, wins) each."""
    kinds, name, url, start_at, window, windows = args
    setup()
    steps = [_steps(kind, f"{name}:{kind}", url) for kind in kinds]
    for take, release in steps:  # warm up: connections, script load, statement caches
        if take():
            release()
    counts = []
    for number in range(windows):
        take, release = steps[number % 2]
        window_start, window_end = start_at + number * window, start_at + (number + 1) * window
        while time.time() < window_start:
            time.sleep(0.0005)
        attempts = wins = 0
        while time.time() < window_end:
            attempts += 1
            if take():
                wins += 1
                release()
        counts.append((attempts, wins))
    return counts


def run_case(
    raw_kind: str, library_kind: str, url: str, processes: int, window: float, pairs: int
) -> tuple[float, float, float, int, int]:
    """Interleave raw and library windows across ``processes``.

    Returns the median rate (attempts/s over all processes) of each, the median of the
    per-pair ratios library/raw, and the wins of each. Alternating short windows keeps the
    machine's changing load (other jobs) from favouring either side.
    """
    name = f"bench-{uuid.uuid4()}"
    start_at = time.time() + 3.0  # every worker set up and waiting before the clock starts
    work = ((raw_kind, library_kind), name, url, start_at, window, 2 * pairs)
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        per_worker = pool.map(_worker, [work] * processes)
    attempts = [sum(worker[n][0] for worker in per_worker) / window for n in range(2 * pairs)]
    wins = [sum(worker[n][1] for worker in per_worker) for n in range(2 * pairs)]
    raw, library = attempts[0::2], attempts[1::2]
    # A raw window with no attempt at all (the machine stalled) has no ratio; leave it out.
    ratios = [lib / base for lib, base in zip(library, raw, strict=True) if base > 0]
    return (
        statistics.median(library),
        statistics.median(raw),
        statistics.median(ratios) if ratios else math.nan,
        sum(wins[1::2]),
        sum(wins[0::2]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10, help="raw/library window pairs")
    parser.add_argument("--window", type=float, default=0.5, help="seconds per window")
    parser.add_argument("--processes", type=int, default=8, help="contending processes")
    options = parser.parse_args()
    url = setup()
    cases = (("cache", "raw-redis"), ("advisory", "raw-advisory"), ("django-cache", "raw-redis"))

    print(
        f"{options.pairs} alternating raw/library windows of {options.window:g} s each; "
        "medians; ratio = median of the per-pair library/raw ratios"
    )
    print(f"{'case':<30}{'library/s':>11}{'raw/s':>10}{'ratio':>7}{'won (lib/raw)':>18}")
    for processes in (1, options.processes):
        for library_kind, raw_kind in cases:
            library, raw, ratio, won_library, won_raw = run_case(
                raw_kind, library_kind, url, processes, options.window, options.pairs
            )
            label = f"{library_kind}, {processes} process{'es' if processes > 1 else ''}"
            print(
                f"{label:<30}{library:>11,.0f}{raw:>10,.0f}{ratio:>7.2f}"
                f"{won_library:>11,}/{won_raw:,}"
            )


if __name__ == "__main__":
    main()
