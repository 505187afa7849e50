"""System checks for the lock settings: a lock that cannot lock across processes is no lock."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from agentcore_task import conf

__all__ = ["check_lock_settings"]

# Caches whose values live in one process (or, file-based, whose add() is a read then a
# write), so that two workers can both "take" the same lock.
PROCESS_LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "local-memory",
    "django.core.cache.backends.dummy.DummyCache": "dummy",
    "django.core.cache.backends.filebased.FileBasedCache": "file-based",
}


# Not tagged "database": Django 6.1 skips such checks unless a database is named, and this
# one only reads settings.
@register(Tags.caches)
def check_lock_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Refuse lock settings that name nothing; warn when the lock cache is process-local.

    One id per error, so that a project can silence (``SILENCED_SYSTEM_CHECKS``) or grep for
    exactly one: E003 an unknown backend, E004 an unknown lock database, E005 an unknown lock
    cache; W001 a cache that cannot lock across processes.
    """
    try:
        backend = conf.lock_backend()
    except ValueError as exc:
        return [Error(str(exc), id="agentcore_task.E003")]
    if backend == "advisory":
        alias = conf.lock_database_alias()
        if alias in settings.DATABASES:
            return []
        return [
            Error(
                f"AGENTCORE_TASK_LOCK_DATABASE names the database {alias!r}, which is not in "
                "DATABASES.",
                id="agentcore_task.E004",
            )
        ]
    alias = conf.lock_cache_alias()
    if alias not in settings.CACHES:
        return [
            Error(
                f"AGENTCORE_TASK_LOCK_CACHE names the cache {alias!r}, which is not in CACHES.",
                id="agentcore_task.E005",
            )
        ]
    kind = PROCESS_LOCAL_CACHES.get(settings.CACHES[alias].get("BACKEND", ""))
    if kind is None:
        return []
    return [
        Warning(
            f"Task locks use the {kind} cache {alias!r}, which cannot lock across processes: "
            "two workers can run the same locked task at once.",
            hint="Point AGENTCORE_TASK_LOCK_CACHE at a Redis or memcached cache, or set "
            "AGENTCORE_TASK_LOCK_BACKEND = 'advisory' to use PostgreSQL advisory locks.",
            id="agentcore_task.W001",
        )
    ]
