-- Expressions the REST API adds to its list query.

-- name: metadata_subset
-- The requested top-level keys of metadata (keys the row lacks are left out), computed in the
-- database so the rest of a large metadata document is never sent. One positional parameter:
-- the text[] of keys (this fragment is used through Django's RawSQL).
(SELECT COALESCE(jsonb_object_agg(entry.key, entry.value), '{}'::jsonb)
   FROM jsonb_each("agentcore_task_execution"."metadata") AS entry
  WHERE entry.key = ANY(%s::text[]))
