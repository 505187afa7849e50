-- Writes made on behalf of Celery: automatic tracking (agentcore_task/autotrack.py).

-- name: start_execution
-- Record that a worker started the task: insert the row as STARTED, or move the existing row
-- to STARTED, in one statement. The worker may run the task before the publishing process
-- has recorded it (auto-tracking registers after the message is sent), so the start must
-- create the row when it is missing. An existing row keeps its arguments and name; a missing
-- creator is filled. A finished row stays finished (the status trigger), so a duplicate
-- delivery of a task that already ended cannot reopen it. A creator id with no user behind it
-- is stored as NULL. The worker's hostname replaces the row's (a redelivery may start it
-- elsewhere); the queue fills a missing one. The status trigger's history entry for this
-- start names the worker, because it reads the row as this statement leaves it.
INSERT INTO agentcore_task_execution AS e (
    task_id, task_name, module, status, task_args, task_kwargs, metadata, created_by_id,
    worker, queue, created_at, updated_at
)
VALUES (
    %(task_id)s, %(task_name)s, %(module)s, 'STARTED', %(task_args)s::jsonb,
    %(task_kwargs)s::jsonb, '{}'::jsonb,
    (SELECT u.id FROM {user_table} AS u WHERE u.id = %(created_by_id)s),
    %(worker)s, %(queue)s, statement_timestamp(), statement_timestamp()
)
ON CONFLICT (task_id) DO UPDATE
SET status = 'STARTED',
    created_by_id = COALESCE(e.created_by_id, EXCLUDED.created_by_id),
    worker = COALESCE(EXCLUDED.worker, e.worker),
    queue = COALESCE(e.queue, EXCLUDED.queue)
