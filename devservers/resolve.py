"""Choose the PostgreSQL and the Redis a process uses, starting embedded ones if needed.

Order of preference, for each server:

1. ``DATABASE_URL`` / ``REDIS_URL`` from the environment: whatever the user (or CI) chose.
2. A server on the usual local port (127.0.0.1:5432 / 127.0.0.1:6379), unless
   ``AGENTCORE_EMBEDDED`` forces the embedded servers (to test on a known version, or to
   keep a developer's local databases out of the way).
3. An embedded server, started on a free port in a temporary directory and kept alive for
   the rest of the process.

Whatever was chosen is written back to the environment, so the worker processes the tests
start (multiprocessing ``spawn``, ``subprocess``) find the variable and reuse the same
server instead of starting one each.
"""

from __future__ import annotations

import os
import threading
import warnings

from devservers.postgres import EmbeddedPostgres
from devservers.probes import (
    LOCAL_HOST,
    PROBE_TIMEOUT,
    create_database,
    port_open,
    postgres_url,
    redis_ping,
)
from devservers.redis import EmbeddedRedis

LOCAL_POSTGRES_PORT = 5432
LOCAL_REDIS_PORT = 6379
_TRUTHY = {"1", "true", "yes", "on"}


def embedded_forced() -> bool:
    """Tell whether ``AGENTCORE_EMBEDDED`` asks for embedded servers even if local ones run."""
    return os.environ.get("AGENTCORE_EMBEDDED", "").strip().lower() in _TRUTHY


_resolve_lock = threading.Lock()
_embedded_postgres: EmbeddedPostgres | None = None
_embedded_redis: EmbeddedRedis | None = None


def resolve_database_url(default_dbname: str = "agentcore_task") -> str:
    """Return the URL of a PostgreSQL database to use, starting one if none is around.

    The database ``default_dbname`` is created when the URL is not the user's own: Django's
    test runner only needs the server (it creates ``test_<name>``), but the demo uses the
    database itself.  The result is stored in ``os.environ["DATABASE_URL"]`` for children.
    """
    global _embedded_postgres
    with _resolve_lock:
        url = os.environ.get("DATABASE_URL")
        if url:
            return url
        url = None
        if not embedded_forced() and port_open(LOCAL_HOST, LOCAL_POSTGRES_PORT):
            candidate = postgres_url(LOCAL_HOST, LOCAL_POSTGRES_PORT, default_dbname)
            try:
                create_database(
                    postgres_url(LOCAL_HOST, LOCAL_POSTGRES_PORT, "postgres"), default_dbname
                )
            except Exception as exc:
                # Something listens on 5432 but does not let "postgres" in without a
                # password (or is not PostgreSQL): an embedded server beats a dead end.
                warnings.warn(
                    f"PostgreSQL on {LOCAL_HOST}:{LOCAL_POSTGRES_PORT} is not usable "
                    f"({exc}); starting an embedded one. Set DATABASE_URL to use yours.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            else:
                url = candidate
        if url is None:
            if _embedded_postgres is None or not _embedded_postgres.running:
                server = EmbeddedPostgres(dbname=default_dbname)
                server.start()
                _embedded_postgres = server
            _embedded_postgres.create_database(default_dbname)
            url = _embedded_postgres.url_for(default_dbname)
        os.environ["DATABASE_URL"] = url
        return url


def resolve_redis_url() -> str:
    """Return the URL of a Redis to use, starting one if none is around.

    The result is stored in ``os.environ["REDIS_URL"]`` so that children reuse it.
    """
    global _embedded_redis
    with _resolve_lock:
        url = os.environ.get("REDIS_URL")
        if url:
            return url
        if not embedded_forced() and redis_ping(LOCAL_HOST, LOCAL_REDIS_PORT, PROBE_TIMEOUT):
            url = f"redis://{LOCAL_HOST}:{LOCAL_REDIS_PORT}/0"
        else:
            if _embedded_redis is None or not _embedded_redis.running:
                server = EmbeddedRedis()
                server.start()
                _embedded_redis = server
            url = _embedded_redis.url
        os.environ["REDIS_URL"] = url
        return url
