-- Expressions the REST API adds to its list query.

-- name: metadata_subset
-- The requested top-level keys of metadata (keys the row lacks are left out), computed in the
-- database so the rest of a large metadata document is never sent. One positional parameter:
-- the text[] of keys (this fragment is used through Django's RawSQL).
(SELECT COALESCE(jsonb_object_agg(entry.key, entry.value), '{}'::jsonb)
   FROM jsonb_each("agentcore_task_execution"."metadata") AS entry
  WHERE entry.key = ANY(%s::text[]))

-- name: retry_root
-- The first execution of a retry chain: follow retry_of up from %(id)s (through the primary
-- key, at most 1000 steps, so a hand-made cycle cannot loop forever).
WITH RECURSIVE chain (id, retry_of_id, depth) AS (
    SELECT id, retry_of_id, 0 FROM agentcore_task_execution WHERE id = %(id)s
    UNION ALL
    SELECT e.id, e.retry_of_id, chain.depth + 1
    FROM agentcore_task_execution AS e
    JOIN chain ON e.id = chain.retry_of_id
    WHERE chain.depth < 1000
)
SELECT id FROM chain ORDER BY depth DESC LIMIT 1
