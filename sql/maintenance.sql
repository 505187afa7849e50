-- The periodic jobs' statements (agentcore_task/services/maintenance.py): cleanup of old
-- executions and timeout marking. Age is measured against the database's clock
-- (statement_timestamp()), the clock that stamped created_at and started_at.

-- name: cleanup_delete_batch
-- Delete one batch of at most %(batch_size)s executions created before %(cutoff)s, oldest
-- first, through the agentcore_task_created index. Rows another transaction holds (a progress
-- update in flight) are skipped, not waited for: they go in a later batch or the next run.
-- %(after)s is the newest created_at of the previous batch, so that rows the filter keeps
-- (unfinished ones, when only terminal rows go) are not scanned again by every batch.
-- Returns the number of rows deleted and the newest created_at among them.
WITH batch AS (
    SELECT id, created_at
    FROM agentcore_task_execution
    WHERE created_at >= %(after)s
      AND created_at < %(cutoff)s
      AND status = ANY(%(statuses)s)
    ORDER BY created_at
    LIMIT %(batch_size)s
    FOR UPDATE SKIP LOCKED
),
deleted AS (
    DELETE FROM agentcore_task_execution AS e
    USING batch
    WHERE e.id = batch.id
    RETURNING batch.created_at
)
SELECT count(*), max(created_at) FROM deleted

-- name: cleanup_cutoff
-- The moment before which executions are old enough to delete: now minus the retention.
SELECT statement_timestamp() - %(retention)s::interval

-- name: cleanup_count
-- How many executions a cleanup with this cutoff would delete (a dry run).
SELECT count(*)
FROM agentcore_task_execution
WHERE created_at < %(cutoff)s
  AND status = ANY(%(statuses)s)

-- name: timeout_candidates
-- Running executions (STARTED or RETRY) without a sign of life for at least
-- %(shortest)s: no write of any kind (status, progress, metadata) since then, judged by
-- updated_at, the heartbeat every write moves. Served by the agentcore_task_unfinished
-- partial index, which holds only unfinished rows. Stalest first; the caller applies each
-- task's own timeout (which is at least %(shortest)s) with the database's now.
SELECT id, task_id, task_name, status, statement_timestamp() - updated_at AS silent_for
FROM agentcore_task_execution
WHERE status IN ('STARTED', 'RETRY')
  AND updated_at < statement_timestamp() - %(shortest)s::interval
ORDER BY updated_at, id

-- name: mark_timed_out
-- Mark the listed executions FAILURE, each with its own timeout in minutes, in one UPDATE.
-- Each row is re-checked: one that finished or showed a sign of life since it was listed no
-- longer matches. timed_out = true lets the real outcome replace this FAILURE later (the
-- status trigger); {minutes} in %(error)s becomes the row's timeout.
-- Returns the number of rows marked.
WITH marked AS (
    UPDATE agentcore_task_execution AS e
    SET status = 'FAILURE',
        timed_out = true,
        error = replace(%(error)s, '{minutes}', listed.minutes::text)
    FROM unnest(%(ids)s::bigint[], %(minutes)s::integer[]) AS listed(id, minutes)
    WHERE e.id = listed.id
      AND e.status IN ('STARTED', 'RETRY')
      AND e.updated_at < statement_timestamp() - make_interval(mins => listed.minutes)
    RETURNING 1
)
SELECT count(*) FROM marked

-- name: stale_pending
-- PENDING executions registered more than %(timeout)s ago (their message may be lost),
-- oldest first, at most %(limit)s. Served by agentcore_task_unfinished.
SELECT id, task_id, status
FROM agentcore_task_execution
WHERE status = 'PENDING'
  AND created_at < statement_timestamp() - %(timeout)s::interval
ORDER BY created_at, id
LIMIT %(limit)s

-- name: mark_never_started
-- Mark the listed executions FAILURE as never started, when they are still PENDING and old
-- enough. timed_out = true: should the task start after all, its real outcome replaces it.
-- Returns the number of rows marked.
WITH marked AS (
    UPDATE agentcore_task_execution
    SET status = 'FAILURE',
        timed_out = true,
        error = %(error)s
    WHERE id = ANY(%(ids)s::bigint[])
      AND status = 'PENDING'
      AND created_at < statement_timestamp() - %(timeout)s::interval
    RETURNING 1
)
SELECT count(*) FROM marked
