-- Adopting the original agentcore-task's database (agentcore_task/schema/, migration 0001
-- and 0005). Catalog reads take the table's name; the DDL they lead to is built in Python
-- because it needs quoted identifiers.

-- name: adoption_table_exists
-- Whether a table of that name exists in the search path (to_regclass: NULL when not).
SELECT to_regclass(%(table)s) IS NOT NULL

-- name: adoption_original_migrations
-- The original's applied migrations, by name, to recognise which of its schemas this is.
SELECT name FROM django_migrations WHERE app = %(app)s

-- name: adoption_original_columns
-- The execution table's columns and PostgreSQL type names, compared with the original's.
SELECT column_name, data_type
FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = %(table)s

-- name: adoption_breaking_rows
-- Rows our rules refuse (a status outside the six, finished before started), with which rule
-- each breaks: the migration names them all and changes nothing.
SELECT id, task_id, status, started_at, finished_at,
       status <> ALL(%(statuses)s) AS bad_status,
       finished_at < started_at AS bad_times
FROM agentcore_task_execution
WHERE status <> ALL(%(statuses)s) OR finished_at < started_at
ORDER BY id

-- name: adoption_other_constraints
-- The table's constraints other than its primary and foreign keys (the original's unique and
-- check constraints), to be dropped before ours are added.
SELECT conname FROM pg_constraint
WHERE conrelid = %(table)s::regclass AND contype NOT IN ('p', 'f')
ORDER BY conname

-- name: adoption_other_indexes
-- The table's indexes other than the primary key's, as qualified names ready for DROP INDEX.
SELECT indexrelid::regclass::text FROM pg_index
WHERE indrelid = %(table)s::regclass AND NOT indisprimary
ORDER BY 1

-- name: adoption_primary_key
-- The primary key constraint's name, renamed to the one a fresh table has.
SELECT conname FROM pg_constraint WHERE conrelid = %(table)s::regclass AND contype = 'p'

-- name: adoption_foreign_keys
-- The foreign keys' names (the creator's), renamed to the one a fresh table has.
SELECT conname FROM pg_constraint WHERE conrelid = %(table)s::regclass AND contype = 'f'

-- name: adoption_id_sequence
-- The identity sequence behind id, qualified, renamed to the one a fresh table has.
SELECT pg_get_serial_sequence(%(table)s, 'id')

-- name: adoption_continue_identity
-- The identity continues after the highest id, whatever wrote the rows (1 on an empty table).
SELECT setval(pg_get_serial_sequence('agentcore_task_execution', 'id'),
              coalesce(max(id), 0) + 1, false)
FROM agentcore_task_execution

-- name: adoption_original_global_config
-- The original's global key/value settings we know how to carry, as JSON text.
SELECT key, value::text, updated_at FROM agentcore_task_config
WHERE scope = 'global' AND user_id IS NULL AND key = ANY(%(keys)s)
ORDER BY key

-- name: adoption_move_admin_log
-- Admin log entries of the original's content type move to ours before it is deleted.
UPDATE django_admin_log SET content_type_id = %(new)s WHERE content_type_id = %(old)s
