"""Many writes in one transaction: our trigger installation against django-pgtrigger's.

django-pgtrigger's functions start with ``_pgtrigger_should_ignore``, a subtransaction rolled
back on every row when ``pgtrigger.ignore`` is unset; rolling it back walks every deferred
foreign-key check the transaction has queued, so N writes cost O(N²). Ours
(``agentcore_task/trigger_sql.py``) reads the setting in a plain expression. This swaps the
table's three trigger functions between the two checks (``CREATE OR REPLACE FUNCTION``; the
shipped ones are put back at the end) and times, in interleaved rounds of the same run,
transactions that are rolled back:

- ``one statement``: an ``INSERT … SELECT`` of N rows (an import; bench/dataset.py's load);
- ``row by row``: N single-row ``INSERT`` statements (``dispatch()`` in a loop inside
  ``transaction.atomic()``).

    python -m bench.trigger_sql [--rows 5000 10000 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable

import psycopg

from bench.common import libpq_url, setup_django

FUNCTIONS = """
SELECT pg_get_functiondef(p.oid)
FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
WHERE t.tgrelid = 'agentcore_task_execution'::regclass AND t.tgname LIKE 'pgtrigger_%'
"""

OURS = """IF TG_NAME = ANY(COALESCE(
                        NULLIF(current_setting('pgtrigger.ignore', true), ''), '{}'
                    )::text[]) THEN"""
PGTRIGGER = 'IF ("public"._pgtrigger_should_ignore(TG_NAME) IS TRUE) THEN'

ONE_STATEMENT = """
INSERT INTO agentcore_task_execution (task_id, task_name, module, status, created_by_id)
SELECT %(prefix)s || n, 'bench.triggers', 'bench', 'PENDING', %(user_id)s
FROM generate_series(1, %(rows)s) AS n
"""

ONE_ROW = """
INSERT INTO agentcore_task_execution (task_id, task_name, module, status, created_by_id)
VALUES (%s, 'bench.triggers', 'bench', 'PENDING', %s)
"""


def _one_statement(pg: psycopg.Connection, rows: int, user_id: int) -> None:
    prefix = f"bench-triggers-{uuid.uuid4().hex[:8]}-"
    pg.execute(ONE_STATEMENT, {"prefix": prefix, "rows": rows, "user_id": user_id})


def _row_by_row(pg: psycopg.Connection, rows: int, user_id: int) -> None:
    prefix = f"bench-triggers-{uuid.uuid4().hex[:8]}-"
    with pg.cursor() as cursor:
        cursor.executemany(ONE_ROW, [(f"{prefix}{n}", user_id) for n in range(rows)])


def _seconds(url: str, insert: Callable[..., None], rows: int, user_id: int) -> float:
    with psycopg.connect(url) as pg:
        started = time.perf_counter()
        insert(pg, rows, user_id)
        elapsed = time.perf_counter() - started
        pg.rollback()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000, 10_000, 20_000])
    parser.add_argument("--rounds", type=int, default=3, help="median over this many rounds")
    options = parser.parse_args()
    url = libpq_url(setup_django())

    from django.contrib.auth import get_user_model

    user_id = get_user_model().objects.get_or_create(username="bench-triggers")[0].pk
    with psycopg.connect(url) as pg:
        shipped = [definition for (definition,) in pg.execute(FUNCTIONS).fetchall()]
    assert len(shipped) == 3 and all(OURS in d for d in shipped), "unexpected trigger functions"
    installs = {"ours": shipped, "pgtrigger": [d.replace(OURS, PGTRIGGER) for d in shipped]}

    def install(variant: str) -> None:
        with psycopg.connect(url, autocommit=True) as pg:
            for definition in installs[variant]:
                pg.execute(definition)

    print(f"seconds per transaction, median of {options.rounds}; ratio = pgtrigger / ours")
    print(f"{'shape':<16}{'rows':>8}{'ours':>10}{'pgtrigger':>11}{'ratio':>8}")
    try:
        for label, insert in (("one statement", _one_statement), ("row by row", _row_by_row)):
            for rows in options.rows:
                times: dict[str, list[float]] = {variant: [] for variant in installs}
                for _ in range(options.rounds):
                    for variant in installs:
                        install(variant)
                        times[variant].append(_seconds(url, insert, rows, user_id))
                ours, theirs = (statistics.median(times[v]) for v in ("ours", "pgtrigger"))
                print(f"{label:<16}{rows:>8,}{ours:>10.3f}{theirs:>11.3f}{theirs / ours:>8.2f}")
    finally:
        install("ours")


if __name__ == "__main__":
    main()
