-- Views for DBAs and dashboards, created by migrations (agentcore_task/schema/views.py).
-- Versioned by name: a released view never changes; a new shape ships as …_v2 beside it.

-- name: agentcore_task_running_v1
-- Executions a worker holds now (STARTED or RETRY), with the progress they reported, how long
-- they have run and how long since their last write. Served by agentcore_task_unfinished.
SELECT id, task_id, task_name, module, status, created_by_id, started_at, updated_at,
       statement_timestamp() - started_at AS running_for,
       statement_timestamp() - updated_at AS silent_for,
       CASE WHEN jsonb_typeof(metadata -> 'progress_percent') = 'number'
            THEN (metadata ->> 'progress_percent')::numeric END AS progress_percent,
       metadata ->> 'progress_message' AS progress_message,
       metadata ->> 'progress_step' AS progress_step
FROM agentcore_task_execution
WHERE status IN ('STARTED', 'RETRY')

-- name: agentcore_task_recent_failures_v1
-- Failed executions, newest first, with the first line of their error. Read it with a LIMIT
-- or a created_at window: both walk agentcore_task_created backwards and stop early.
SELECT id, task_id, task_name, module, created_by_id, created_at, started_at, finished_at,
       timed_out,
       split_part(error, E'\n', 1) AS error_first_line
FROM agentcore_task_execution
WHERE status = 'FAILURE'
ORDER BY created_at DESC

-- name: agentcore_task_daily_counts_v1
-- Executions per day (of created_at, in the session's TimeZone), task name and status. A
-- filter on task_name is pushed below the GROUP BY and served by agentcore_task_by_name.
SELECT date_trunc('day', created_at) AS day, task_name, status, count(*) AS executions
FROM agentcore_task_execution
GROUP BY 1, 2, 3

-- name: agentcore_task_stuck_v1
-- Stuck candidates: running (STARTED or RETRY) with no write of any kind for the timeout, the
-- runtime configuration's timeout_minutes or else 10 (the AGENTCORE_TASK_TIMEOUT_MINUTES
-- default; a project that changed that setting reads the running view's silent_for instead).
-- What the timeout job will mark FAILURE next. Served by agentcore_task_unfinished.
SELECT e.id, e.task_id, e.task_name, e.module, e.status, e.started_at, e.updated_at,
       statement_timestamp() - e.updated_at AS silent_for,
       timeout.minutes AS timeout_minutes
FROM agentcore_task_execution AS e
CROSS JOIN (
    SELECT coalesce((SELECT timeout_minutes FROM agentcore_task_runtime_config WHERE id = 1),
                    10) AS minutes
) AS timeout
WHERE e.status IN ('STARTED', 'RETRY')
  AND e.updated_at < statement_timestamp() - make_interval(mins => timeout.minutes)
