-- The doorbell (agentcore_task/doorbell.py): its on/off state in the database, and the
-- statements that follow AGENTCORE_TASK_NOTIFY. The live hub itself reads rows through the
-- ORM (agentcore_task/live/feed.py).

-- name: doorbell_triggers
-- The doorbell triggers installed on the table, and whether each is enabled ('D' is
-- disabled; 'O', 'R' and 'A' fire). One parameter: the text[] of their pgtrigger names.
SELECT t.tgname, t.tgenabled <> 'D'
  FROM pg_trigger AS t
 WHERE t.tgrelid = to_regclass('agentcore_task_execution')
   AND t.tgname = ANY(%(names)s::text[])

-- name: enable_trigger
-- Turn one doorbell trigger on ({trigger} is its quoted name). Takes the table's
-- SHARE ROW EXCLUSIVE lock for a moment: run by migrate, not on a hot path.
ALTER TABLE agentcore_task_execution ENABLE TRIGGER {trigger}

-- name: disable_trigger
-- Turn one doorbell trigger off ({trigger} is its quoted name).
ALTER TABLE agentcore_task_execution DISABLE TRIGGER {trigger}
