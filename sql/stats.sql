-- Execution statistics (agentcore_task/services/stats.py): one statement per call.

-- name: task_stats
-- Counts per status in total, by module and by task name; per time bucket when the unit
-- parameter is hour/day/week/month (NULL: no series); duration figures per task name when
-- with_durations. The rows placeholder below stands for the caller's filtered rows (never
-- name it in braces in a comment: a comment must not receive compiled SQL whose literals may
-- hold a carriage return, which ends a comment): stats.py puts the compiled
-- queryset there (its parameters renamed rows_0, rows_1, …), so every filter is a WHERE
-- clause an index can serve, never the FILTER of a count. Each output row has a
-- kind: total, module, task_name, bucket or duration.
--
-- The counts are first grouped flat by (module, task_name, status), which PostgreSQL runs as
-- a parallel scan; GROUPING SETS straight over the table cannot run in parallel (PostgreSQL
-- 15) and took 2.4 times as long on 1M rows. The GROUPING SETS then rolls up the few
-- thousand pre-counted rows. The series is a second flat count, by (bucket, status), rather
-- than a bucket column in the first one, which would multiply its groups by the buckets (and
-- then spill). The planner cannot know how few buckets there are (it guesses one per
-- created_at), so that count runs serially. Rows are read once per part asked for: `rows` is
-- NOT MATERIALIZED, so each part scans the table with the filters pushed down, instead of
-- spooling every row into a work table; a part not asked for is cut at planning time.
--
-- Buckets are date_trunc(unit, created_at, time_zone): local calendar days, ISO weeks
-- (Monday) and months, so a day is 23 or 25 hours on a DST change and the same month of two
-- years is two buckets. Empty buckets of the window [window_start, window_end] come
-- from generate_series: in local time for day/week/month, in real hours for hour.
WITH rows AS NOT MATERIALIZED (
    {rows}
),
by_name_and_status AS (
    SELECT module, task_name, status, count(*) AS n
    FROM rows
    GROUP BY module, task_name, status
),
by_bucket_and_status AS (
    SELECT date_trunc(%(unit)s, created_at, %(time_zone)s) AS bucket, status, count(*) AS n
    FROM rows
    WHERE %(unit)s IS NOT NULL
    GROUP BY bucket, status
),
window_buckets AS (
    SELECT hour_start AS bucket
    FROM generate_series(
        date_trunc('hour', %(window_start)s::timestamptz, %(time_zone)s),
        %(window_end)s::timestamptz,
        interval '1 hour'
    ) AS hour_start
    WHERE %(unit)s = 'hour'
    UNION ALL
    SELECT local_start AT TIME ZONE %(time_zone)s
    FROM generate_series(
        date_trunc(%(unit)s, %(window_start)s::timestamptz AT TIME ZONE %(time_zone)s),
        %(window_end)s::timestamptz AT TIME ZONE %(time_zone)s,
        ('1 ' || %(unit)s)::interval
    ) AS local_start
    WHERE %(unit)s IN ('day', 'week', 'month')
),
counts AS (
    SELECT CASE
               WHEN GROUPING(module) = 0 THEN 'module'
               WHEN GROUPING(task_name) = 0 THEN 'task_name'
               ELSE 'total'
           END AS kind,
           COALESCE(module, task_name) AS key,
           NULL::timestamptz AS bucket,
           COALESCE(sum(n), 0)::bigint AS total,
           COALESCE(sum(n) FILTER (WHERE status = 'PENDING'), 0)::bigint AS pending,
           COALESCE(sum(n) FILTER (WHERE status = 'STARTED'), 0)::bigint AS started,
           COALESCE(sum(n) FILTER (WHERE status = 'SUCCESS'), 0)::bigint AS success,
           COALESCE(sum(n) FILTER (WHERE status = 'FAILURE'), 0)::bigint AS failure,
           COALESCE(sum(n) FILTER (WHERE status = 'RETRY'), 0)::bigint AS retry,
           COALESCE(sum(n) FILTER (WHERE status = 'REVOKED'), 0)::bigint AS revoked
    FROM by_name_and_status
    GROUP BY GROUPING SETS ((), (module), (task_name))
),
series AS (
    SELECT 'bucket' AS kind,
           NULL::text AS key,
           bucket,
           COALESCE(sum(n), 0)::bigint AS total,
           COALESCE(sum(n) FILTER (WHERE status = 'PENDING'), 0)::bigint AS pending,
           COALESCE(sum(n) FILTER (WHERE status = 'STARTED'), 0)::bigint AS started,
           COALESCE(sum(n) FILTER (WHERE status = 'SUCCESS'), 0)::bigint AS success,
           COALESCE(sum(n) FILTER (WHERE status = 'FAILURE'), 0)::bigint AS failure,
           COALESCE(sum(n) FILTER (WHERE status = 'RETRY'), 0)::bigint AS retry,
           COALESCE(sum(n) FILTER (WHERE status = 'REVOKED'), 0)::bigint AS revoked
    FROM (
        SELECT bucket, status, n FROM by_bucket_and_status
        UNION ALL
        -- a zero row per bucket of the window, so that empty buckets are present
        SELECT bucket, NULL, 0 FROM window_buckets
    ) AS padded
    GROUP BY bucket
),
durations AS (
    -- Run times of finished runs, and queue waits (started_at - created_at) of every run that
    -- started; percentile_cont and count skip the NULL run time of a run still going.
    SELECT 'duration' AS kind,
           task_name AS key,
           count(seconds) AS finished,
           avg(seconds) AS avg_seconds,
           percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY seconds) AS percentiles,
           max(seconds) AS max_seconds,
           percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY wait) AS waits
    FROM (
        SELECT task_name,
               CASE WHEN status IN ('SUCCESS', 'FAILURE', 'REVOKED') AND finished_at IS NOT NULL
                    THEN extract(epoch FROM finished_at - started_at)::float8 END AS seconds,
               extract(epoch FROM started_at - created_at)::float8 AS wait
        FROM rows
        WHERE %(with_durations)s
          AND started_at IS NOT NULL
    ) AS started_rows
    GROUP BY task_name
)
SELECT kind, key, bucket, total, pending, started, success, failure, retry, revoked,
       NULL::float8 AS avg_seconds, NULL::float8 AS p50_seconds, NULL::float8 AS p95_seconds,
       NULL::float8 AS max_seconds, NULL::float8 AS wait_p50, NULL::float8 AS wait_p95
FROM counts
UNION ALL
SELECT kind, key, bucket, total, pending, started, success, failure, retry, revoked,
       NULL, NULL, NULL, NULL, NULL, NULL
FROM series
UNION ALL
SELECT kind, key, NULL, finished, NULL, NULL, NULL, NULL, NULL, NULL,
       avg_seconds, percentiles[1], percentiles[2], max_seconds, waits[1], waits[2]
FROM durations
