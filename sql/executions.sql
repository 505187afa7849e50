-- Writes to agentcore_task_execution. Each is one statement, so a concurrent writer can never
-- be lost between a read and a write. The status rules (timestamps, terminal statuses,
-- updated_at) are applied by the table's trigger. agentcore_task/db.py appends the RETURNING
-- clause: every column for a registration, the scalar columns for an update.

-- name: register_execution
-- Insert the row for a Celery task id, or return the existing one. A repeated registration
-- changes nothing it already knows, its status least of all: it only fills a missing creator,
-- arguments the row has none of (a row a worker created before the registration arrived),
-- a missing queue or retry_of link, and metadata keys the row does not have yet (the row's
-- own values win). A creator id with
-- no user behind it (deleted meanwhile) is stored as NULL rather than failing the row.
INSERT INTO agentcore_task_execution AS e (
    task_id, task_name, module, status, task_args, task_kwargs, metadata, created_by_id,
    queue, retry_of_id, created_at, updated_at
)
VALUES (
    %(task_id)s, %(task_name)s, %(module)s, %(status)s, %(task_args)s::jsonb,
    %(task_kwargs)s::jsonb, %(metadata)s::jsonb,
    (SELECT u.id FROM {user_table} AS u WHERE u.id = %(created_by_id)s),
    %(queue)s, (SELECT r.id FROM agentcore_task_execution AS r WHERE r.id = %(retry_of_id)s),
    statement_timestamp(), statement_timestamp()
)
ON CONFLICT (task_id) DO UPDATE
SET created_by_id = COALESCE(e.created_by_id, EXCLUDED.created_by_id),
    queue = COALESCE(e.queue, EXCLUDED.queue),
    retry_of_id = COALESCE(e.retry_of_id, EXCLUDED.retry_of_id),
    task_args = CASE WHEN e.task_args = '[]'::jsonb THEN EXCLUDED.task_args ELSE e.task_args END,
    task_kwargs = CASE
        WHEN e.task_kwargs = '{}'::jsonb THEN EXCLUDED.task_kwargs ELSE e.task_kwargs
    END,
    metadata = EXCLUDED.metadata || e.metadata

-- name: update_status
-- Set the status, the result / error / traceback that were given (a NULL parameter leaves
-- the column alone) and merge a metadata patch, all in one UPDATE. A terminal status written
-- here is an outcome, not the timeout job's guess: it clears timed_out (the status trigger
-- then lets it replace a timed-out FAILURE, and only that). A REVOKED written onto a row
-- already REVOKED keeps the first note in error: the worker's "Revoked: terminated" that
-- follows an operator's revoke must not erase "Revoked by alice: reason".
UPDATE agentcore_task_execution
SET status = %(status)s::text,
    timed_out = CASE WHEN %(status)s::text IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN false
                     ELSE timed_out END,
    result = CASE WHEN %(set_result)s THEN %(result)s::jsonb ELSE result END,
    error = CASE WHEN status = 'REVOKED' AND %(status)s::text = 'REVOKED' AND error <> ''
                 THEN error
                 ELSE COALESCE(%(error)s, error) END,
    traceback = COALESCE(%(traceback)s, traceback),
    metadata = metadata || %(metadata)s::jsonb
WHERE task_id = %(task_id)s

-- name: merge_metadata
-- Merge a patch into metadata (top-level keys of the patch replace the row's). Progress
-- updates go through here: it touches nothing else.
UPDATE agentcore_task_execution
SET metadata = metadata || %(metadata)s::jsonb
WHERE task_id = %(task_id)s

-- name: append_metadata
-- Append items to the list kept under one metadata key, inside the UPDATE, without the
-- caller re-sending the list. A missing key starts an empty list, a non-list value becomes
-- the list's first item, and only the newest %(max_items)s items are kept.
UPDATE agentcore_task_execution
SET metadata = jsonb_set(
    metadata,
    ARRAY[%(key)s]::text[],
    (
        SELECT COALESCE(jsonb_agg(item ORDER BY position), '[]'::jsonb)
        FROM (
            SELECT CASE
                       WHEN metadata -> %(key)s IS NULL THEN '[]'::jsonb
                       WHEN jsonb_typeof(metadata -> %(key)s) = 'array' THEN metadata -> %(key)s
                       ELSE jsonb_build_array(metadata -> %(key)s)
                   END || %(items)s::jsonb AS merged
        ) AS combined,
        jsonb_array_elements(combined.merged) WITH ORDINALITY AS element(item, position)
        WHERE position > jsonb_array_length(combined.merged) - %(max_items)s
    ),
    true
)
WHERE task_id = %(task_id)s

-- name: row_held_by_this_transaction
-- Whether the running transaction wrote or locked the row of %(task_id)s: its xmin (it wrote
-- this version) or xmax (it holds the row lock) is this transaction's id. A write on another
-- connection of the same process would otherwise wait on it forever. xid8 ids are compared in
-- their 32-bit form, as the system columns hold them.
SELECT EXISTS (
    SELECT 1
    FROM agentcore_task_execution AS e,
         (SELECT (pg_current_xact_id_if_assigned()::text::bigint %% 4294967296)::text AS xid)
             AS current
    WHERE e.task_id = %(task_id)s
      AND current.xid IS NOT NULL
      AND current.xid IN (e.xmin::text, e.xmax::text)
)

-- name: revoke_execution
-- An operator's revoke, written before Celery is told: the row becomes REVOKED in this one
-- statement, only while it is unfinished (a row that finished meanwhile is left alone and
-- the caller says so). Who did it and why go into error and metadata.
UPDATE agentcore_task_execution
SET status = 'REVOKED',
    error = %(error)s,
    metadata = metadata || %(metadata)s::jsonb
WHERE id = %(id)s
  AND status IN ('PENDING', 'STARTED', 'RETRY')

-- name: revoke_executions
-- The bulk form of revoke_execution: every listed row still unfinished becomes REVOKED in
-- one UPDATE. Returns the id and task id of each row revoked.
WITH revoked AS (
    UPDATE agentcore_task_execution
    SET status = 'REVOKED',
        error = %(error)s,
        metadata = metadata || %(metadata)s::jsonb
    WHERE id = ANY(%(ids)s::bigint[])
      AND status IN ('PENDING', 'STARTED', 'RETRY')
    RETURNING id, task_id
)
SELECT id, task_id FROM revoked ORDER BY id

-- name: execution_is_revoked
-- Whether the row of %(task_id)s is REVOKED: the check a worker makes when a message
-- arrives, so that a revoke outlives every worker's memory. One probe of the unique index.
SELECT EXISTS (
    SELECT 1 FROM agentcore_task_execution
    WHERE task_id = %(task_id)s AND status = 'REVOKED'
)
