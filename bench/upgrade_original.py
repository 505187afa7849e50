"""How long ``migrate`` takes to adopt the original's table at 1,000,000 rows, and its locks.

Builds a database as the original left it (tests/migrations/original-database.sql), fills the
original's table with N generated rows in its own shape, then runs our ``migrate`` in a child
process while this one samples ``pg_locks`` for the tables it touches. Baseline, same run and
same table: ``REINDEX TABLE`` afterwards, i.e. building our eleven indexes alone, so the ratio
says how much of the upgrade is index builds.

    python -m bench.upgrade_original [--rows 1000000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import psycopg

from tests.migrations.original_db import ROOT, build_original, drop_database, libpq, with_database

ORIGINAL_ROWS = """
INSERT INTO agentcore_task_execution (task_id, task_name, module, status, created_at,
    started_at, finished_at, task_args, task_kwargs, result, error, traceback, metadata,
    created_by_id)
SELECT 'orig-' || n, 'module_' || (n %% 20) || '.tasks.task_' || (n %% 200), 'module_' || (n %% 20),
       status, created, created + interval '2 seconds',
       CASE WHEN status IN ('SUCCESS', 'FAILURE', 'REVOKED')
            THEN created + (2 + n %% 600) * interval '1 second' END,
       jsonb_build_array(n %% 100), jsonb_build_object('feed', n %% 5000),
       CASE WHEN status = 'SUCCESS' THEN jsonb_build_object('items', n %% 50) END,
       CASE WHEN status = 'FAILURE' THEN 'boom ' || n END, NULL,
       jsonb_build_object('tenant', n %% 1000, 'progress_percent', n %% 100),
       CASE WHEN n %% 10 = 0 THEN 1 END
FROM (SELECT n, now() - (n %% 129600) * interval '1 minute' AS created,
             CASE WHEN n %% 100 < 80 THEN 'SUCCESS' WHEN n %% 100 < 88 THEN 'FAILURE'
                  WHEN n %% 100 < 92 THEN 'STARTED' WHEN n %% 100 < 96 THEN 'PENDING'
                  WHEN n %% 100 < 98 THEN 'RETRY' ELSE 'REVOKED' END AS status
      FROM generate_series(1, %(rows)s) AS n) AS generated
"""
LOCKS = """
SELECT DISTINCT c.relname, l.mode
FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE a.application_name = 'agentcore_task.upgrade_bench' AND l.granted
  AND c.relname IN ('agentcore_task_execution', 'agentcore_task_config', 'auth_user',
                    'django_content_type', 'auth_permission')
"""


def _sample_locks(url: str, stop: threading.Event, seen: dict[tuple[str, str], float]) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        while not stop.is_set():
            for relname, mode in connection.execute(LOCKS).fetchall():
                seen.setdefault((relname, mode), time.perf_counter())
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    options = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/agentcore_task")
    url = with_database(base, urlsplit(base).path.lstrip("/") + "_upgrade_bench")
    drop_database(url)
    with psycopg.connect(libpq(with_database(url, "postgres")), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{urlsplit(url).path.lstrip("/")}"')
    try:
        build_original(url)
        started = time.perf_counter()
        with psycopg.connect(libpq(url), autocommit=True) as connection:
            connection.execute(ORIGINAL_ROWS, {"rows": options.rows})
            connection.execute("VACUUM ANALYZE agentcore_task_execution")
            size = connection.execute(
                "SELECT pg_size_pretty(pg_total_relation_size('agentcore_task_execution'))"
            ).fetchone()[0]
        print(
            f"original table: {options.rows:,} rows, {size} with its 18 indexes, "
            f"loaded in {time.perf_counter() - started:.1f} s"
        )

        seen: dict[tuple[str, str], float] = {}
        stop = threading.Event()
        sampler = threading.Thread(target=_sample_locks, args=(libpq(url), stop, seen))
        sampler.start()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PGAPPNAME": "agentcore_task.upgrade_bench",
        }
        started = time.perf_counter()
        try:
            subprocess.run(
                [sys.executable, "-m", "django", "migrate", "-v0"], cwd=ROOT, env=env, check=True
            )
            upgrade = time.perf_counter() - started
        finally:
            stop.set()
            sampler.join()

        with psycopg.connect(libpq(url), autocommit=True) as connection:
            started = time.perf_counter()
            connection.execute("REINDEX TABLE agentcore_task_execution")
            reindex = time.perf_counter() - started
            (count,) = connection.execute(
                "SELECT count(*) FROM agentcore_task_execution"
            ).fetchone()
        print(f"migrate (adoption, all migrations): {upgrade:.1f} s for {count:,} rows")
        print(
            f"baseline REINDEX of our 11 indexes:  {reindex:.1f} s  (ratio {upgrade / reindex:.2f})"
        )
        print("locks held by migrate on the tables it touches, in the order first seen:")
        for (relname, mode), _when in sorted(seen.items(), key=lambda item: item[1]):
            print(f"  {relname:<28}{mode}")
    finally:
        if not options.keep:
            drop_database(url)


if __name__ == "__main__":
    main()
