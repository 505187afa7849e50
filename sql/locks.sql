-- Session-level advisory locks: the "advisory" lock backend (agentcore_task/locks/advisory.py).
-- They run on one dedicated autocommit connection per process. A lock name becomes a signed
-- 64-bit key (advisory_lock_key); pg_locks shows such a key as classid = its high 32 bits,
-- objid = its low 32 bits (both unsigned) and objsubid = 1 (advisory_lock_ids).

-- name: advisory_try_lock
-- Take the session-level lock on a key without waiting: true when this session got it.
-- PostgreSQL counts repeated takes by one session; the backend never takes a key twice.
SELECT pg_try_advisory_lock(%(key)s)

-- name: advisory_unlock
-- Drop this session's hold on a key: true when it held one (false and a server WARNING
-- otherwise).
SELECT pg_advisory_unlock(%(key)s)

-- name: advisory_is_locked
-- Tell whether any session holds the lock on a key in this database, from pg_locks (granted
-- rows only: a session waiting for the lock does not hold it).
SELECT EXISTS (
    SELECT 1
    FROM pg_locks
    WHERE locktype = 'advisory'
      AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND classid = %(classid)s::oid
      AND objid = %(objid)s::oid
      AND objsubid = 1
)

-- name: advisory_held_here
-- Tell whether this session holds the lock on a key (granted, in pg_locks): run on the
-- dedicated session, it also proves the session is alive and is the one that took the lock.
SELECT EXISTS (
    SELECT 1
    FROM pg_locks
    WHERE locktype = 'advisory'
      AND granted
      AND pid = pg_backend_pid()
      AND classid = %(classid)s::oid
      AND objid = %(objid)s::oid
      AND objsubid = 1
)

-- name: advisory_terminate_holders
-- Force release for a lock held by another session: terminate the sessions holding it, which
-- frees every advisory lock they hold, waiting up to %(wait_ms)s ms for each to end. Returns
-- the pids that ended (NULL when none did). Needs superuser, pg_signal_backend or the same
-- role as the holder.
SELECT array_agg(pid ORDER BY pid) FILTER (WHERE terminated)
FROM (
    SELECT pid, pg_terminate_backend(pid, %(wait_ms)s) AS terminated
    FROM pg_locks
    WHERE locktype = 'advisory'
      AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND classid = %(classid)s::oid
      AND objid = %(objid)s::oid
      AND objsubid = 1
      AND pid <> pg_backend_pid()
) AS holders

-- name: advisory_try_lock_named
-- advisory_try_lock, and when it took the lock, the record of which name the key stands for
-- (pg_locks shows only the key), who took it (%(owner)s, the owner token) and for which
-- Celery task (%(holder)s, or NULL): one round trip. The record of an earlier hold of the name
-- (released, or left by a process that died) is overwritten: records are not deleted on
-- release, so a name locked again and again updates one row in place (a HOT update) instead of
-- inserting and deleting one each time. The table is UNLOGGED: no WAL flush at commit.
WITH taken AS (
    SELECT pg_try_advisory_lock(%(key)s) AS ok
),
recorded AS (
    INSERT INTO agentcore_task_lock_name AS n (name, key, owner, holder, since)
    SELECT %(name)s, %(key)s, %(owner)s, %(holder)s, statement_timestamp()
    FROM taken
    WHERE taken.ok
    ON CONFLICT (name) DO UPDATE
    SET key = EXCLUDED.key, owner = EXCLUDED.owner, holder = EXCLUDED.holder,
        since = EXCLUDED.since
    RETURNING 1
)
SELECT ok FROM taken

-- name: advisory_held_names
-- The recorded names whose key some session of this database holds now, with the holding
-- backend's pid, oldest first. A record whose key nobody holds (released, or its holder died)
-- is left out.
SELECT n.name, n.holder, n.owner, n.since, l.pid
FROM agentcore_task_lock_name AS n
JOIN pg_locks AS l
  ON l.locktype = 'advisory'
 AND l.granted
 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
 AND l.classid = ((n.key >> 32) & 4294967295)::oid
 AND l.objid = (n.key & 4294967295)::oid
 AND l.objsubid = 1
ORDER BY n.since, n.name

-- name: advisory_forget_stale_names
-- Delete the records whose key no session holds (released, or their holder died) and that are
-- older than %(grace)s, so the table holds about as many rows as names in recent use.
WITH stale AS (
    DELETE FROM agentcore_task_lock_name AS n
    WHERE n.since < statement_timestamp() - %(grace)s::interval
      AND NOT EXISTS (
        SELECT 1 FROM pg_locks AS l
        WHERE l.locktype = 'advisory'
          AND l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = ((n.key >> 32) & 4294967295)::oid
          AND l.objid = (n.key & 4294967295)::oid
          AND l.objsubid = 1
      )
    RETURNING 1
)
SELECT count(*) FROM stale
