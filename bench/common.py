"""Shared set-up for the benchmarks: a migrated database of their own, found like the tests'.

Benchmarks run by hand (``python -m bench.<name>``) and print numbers; nothing here asserts a
speed. Each compares the library with raw SQL in the same run, because absolute times on a
shared machine drift.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

BENCH_DATABASE = "agentcore_task_bench"


def setup_django() -> str:
    """Point Django at the benchmark database, migrate it, and return its URL."""
    from devservers import ensure_database, resolve_database_url

    if "DATABASE_URL" in os.environ:
        ensure_database(os.environ["DATABASE_URL"])
    else:
        os.environ["DATABASE_URL"] = resolve_database_url(BENCH_DATABASE)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return os.environ["DATABASE_URL"]


def libpq_url(url: str) -> str:
    """Return a URL psycopg accepts (it does not know the ``postgres://`` alias everywhere)."""
    return url.replace("postgres://", "postgresql://", 1)


def timed(function: Callable[[], object], repeat: int = 1) -> float:
    """Return the median wall time of ``repeat`` calls, in seconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def percentiles(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Return the median and 95th-percentile wall time of ``repeat`` calls, in milliseconds.

    The p95 shows what a page's slowest loads cost, which a median alone hides.
    """
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]
