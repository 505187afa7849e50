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

-- name: mark_timed_out
-- Mark every execution STARTED before now minus the timeout as FAILURE, in one UPDATE served
-- by the agentcore_task_unfinished partial index. The trigger stamps finished_at. A row that
-- finishes meanwhile is re-checked after its lock is released and no longer matches.
-- Returns the number of rows marked and the cutoff used.
WITH marked AS (
    UPDATE agentcore_task_execution
    SET status = 'FAILURE',
        error = %(error)s
    WHERE status = 'STARTED'
      AND started_at < statement_timestamp() - %(timeout)s::interval
    RETURNING 1
)
SELECT count(*), statement_timestamp() - %(timeout)s::interval FROM marked

-- name: count_timed_out
-- How many executions timeout marking would mark now (a dry run), and the cutoff.
SELECT count(*), statement_timestamp() - %(timeout)s::interval
FROM agentcore_task_execution
WHERE status = 'STARTED'
  AND started_at < statement_timestamp() - %(timeout)s::interval
