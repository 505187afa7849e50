"""A realistic large execution table for the read benchmarks, loaded in one statement.

20 modules, 200 task names, weighted statuses, 90 days of history, 50 users plus system rows,
metadata with ~1,000 tenants and 50 sources, kwargs with 5,000 feeds.
"""

from __future__ import annotations

import time

from django.db import connection

LOAD_ROWS = """
INSERT INTO agentcore_task_execution (
    task_id, task_name, module, status, created_at, started_at, finished_at, updated_at,
    task_args, task_kwargs, result, metadata, created_by_id
)
SELECT
    'bench-' || n,
    'module_' || (n %% 20) || '.tasks.task_' || (n %% 200),
    'module_' || (n %% 20),
    status,
    created,
    created + interval '2 seconds',
    CASE WHEN status IN ('SUCCESS', 'FAILURE', 'REVOKED')
         THEN created + (n %% 600) * interval '1 second' END,
    created,
    jsonb_build_array(n %% 100),
    jsonb_build_object('feed', n %% 5000, 'mode', 'full'),
    CASE WHEN status = 'SUCCESS' THEN jsonb_build_object('ok', true, 'items', n %% 50) END,
    jsonb_build_object(
        'tenant', n %% 1000, 'source', 'source-' || (n %% 50),
        'progress_percent', CASE WHEN status = 'SUCCESS' THEN 100 ELSE n %% 100 END,
        'progress_message', 'Step ' || (n %% 7)
    ),
    CASE WHEN n %% 10 = 0 THEN NULL ELSE (%(user_ids)s::bigint[])[1 + n %% 50] END
FROM (
    SELECT n,
           now() - (n %% 129600) * interval '1 minute' AS created,
           CASE WHEN n %% 100 < 80 THEN 'SUCCESS' WHEN n %% 100 < 88 THEN 'FAILURE'
                WHEN n %% 100 < 92 THEN 'STARTED' WHEN n %% 100 < 96 THEN 'PENDING'
                WHEN n %% 100 < 98 THEN 'RETRY' ELSE 'REVOKED' END AS status
    FROM generate_series(1, %(rows)s) AS n
) AS generated
"""


def ensure_rows(rows: int) -> None:
    """Fill the table with ``rows`` generated executions unless it already holds them."""
    from django.contrib.auth import get_user_model

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM agentcore_task_execution WHERE task_id LIKE 'bench-%%'"
        )
        (present,) = cursor.fetchone()
    if present == rows:
        return
    users = get_user_model().objects
    user_ids = [users.get_or_create(username=f"bench-user-{n}")[0].pk for n in range(50)]
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM agentcore_task_execution WHERE task_id LIKE 'bench-%%'")
        # An import with its own history: the status trigger keeps the times as written only
        # with its rules lifted (the documented escape hatch for DBAs).
        cursor.execute("SELECT set_config('agentcore_task.override_rules', 'on', false)")
        try:
            cursor.execute(LOAD_ROWS, {"rows": rows, "user_ids": user_ids})
        finally:
            cursor.execute("SELECT set_config('agentcore_task.override_rules', 'off', false)")
        cursor.execute("VACUUM ANALYZE agentcore_task_execution")
    print(f"loaded {rows:,} rows in {time.perf_counter() - started:.1f} s")
