"""The runtime configuration's readers and its writer.

Whoever needs the retention, the timeout or a Beat crontab asks the ``effective_*``
functions: the database override when there is one, else the ``AGENTCORE_TASK_*`` setting,
else its default. :func:`update_runtime_config` stores overrides and, once they are
committed, sends :data:`agentcore_task.signals.runtime_config_changed`; the Beat glue listens
(``AppConfig.ready()`` connects it), so this module needs to know nothing of Beat.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import router, transaction

from agentcore_task import conf
from agentcore_task.models import TaskRuntimeConfig
from agentcore_task.runtime_config.cache import Overrides, clear_cache, overrides
from agentcore_task.runtime_config.fields import (
    CRONTAB_FIELDS,
    FIELD_SPECS,
    Source,
    Value,
    validate_crontab,
    validated,
)
from agentcore_task.signals import runtime_config_changed

__all__ = [
    "RuntimeConfig",
    "effective_cleanup_crontab",
    "effective_mark_timeout_crontab",
    "effective_retention_days",
    "effective_timeout_minutes",
    "get_runtime_config",
    "update_runtime_config",
]

logger = logging.getLogger("agentcore_task")


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    """The effective configuration and where each value comes from.

    Attributes:
        values: field name → the value in force.
        sources: field name → ``"database"``, ``"settings"`` or ``"default"``.
        fallbacks: field name → the value in force without a database override (what
            clearing the override with ``None`` restores).
        updated_at, updated_by_id, updated_by_username: the last change through
            :func:`update_runtime_config` (None before the first one).
    """

    values: dict[str, Value]
    sources: dict[str, Source]
    fallbacks: dict[str, Value]
    updated_at: dt.datetime | None
    updated_by_id: int | None
    updated_by_username: str | None


# --- Readers ---------------------------------------------------------------------------------


def _stored(stored: Overrides, name: str) -> Value | None:
    """Return the stored override of ``name``, or None when absent or no longer valid.

    The database checks ranges and the crontab's shape, not what Celery accepts; a value a
    DBA wrote by hand that Celery refuses is ignored (with a WARNING), not passed on to Beat.
    """
    value = stored.values.get(name)
    if value is None or name not in CRONTAB_FIELDS:
        return value
    try:
        return validate_crontab(value)
    except ValueError as error:
        logger.warning(
            "agentcore_task ignores the stored %s %r: %s; using the settings", name, value, error
        )
        return None


def _effective(name: str) -> Value:
    stored = _stored(overrides(), name)
    return stored if stored is not None else FIELD_SPECS[name].fallback()


def effective_retention_days() -> int:
    """Return the retention in days: the database override, else the setting, else 30."""
    return int(_effective("retention_days"))


def effective_timeout_minutes() -> int:
    """Return the timeout in minutes: the database override, else the setting, else 10."""
    return int(_effective("timeout_minutes"))


def effective_cleanup_crontab() -> str:
    """Return the cleanup crontab: the database override, else the setting, else ``0 2 * * *``."""
    return str(_effective("cleanup_crontab"))


def effective_mark_timeout_crontab() -> str:
    """Return the timeout-marking crontab: database, else the setting, else ``*/30 * * * *``."""
    return str(_effective("mark_timeout_crontab"))


def get_runtime_config(*, fresh: bool = False) -> RuntimeConfig:
    """Return every effective value with its source and the last change.

    Args:
        fresh: read the database now instead of this process's cache (the API does, so
            that it always shows what is stored).
    """
    current = overrides(fresh=fresh)
    values: dict[str, Value] = {}
    sources: dict[str, Source] = {}
    fallbacks: dict[str, Value] = {}
    for name, field in FIELD_SPECS.items():
        fallbacks[name] = field.fallback()
        stored = _stored(current, name)
        if stored is not None:
            values[name], sources[name] = stored, "database"
        else:
            values[name] = fallbacks[name]
            sources[name] = "settings" if conf.is_set(field.setting) else "default"
    return RuntimeConfig(
        values=values,
        sources=sources,
        fallbacks=fallbacks,
        updated_at=current.updated_at,
        updated_by_id=current.updated_by_id,
        updated_by_username=current.updated_by_username,
    )


# --- Writer ----------------------------------------------------------------------------------


def _user_pk(user: Any) -> int | None:
    if user is None or getattr(user, "is_anonymous", False) is True:
        return None
    if not isinstance(user, get_user_model()) or user.pk is None:
        raise TypeError(f"user must be a saved user or None, not {user!r}")
    return int(user.pk)


def update_runtime_config(*, user: Any = None, **changes: object) -> RuntimeConfig:
    """Set or clear overrides, all or nothing, and return the new effective configuration.

    Args:
        user: who makes the change (stored as ``updated_by``), or None for code.
        **changes: ``retention_days`` (1 to 3650), ``timeout_minutes`` (1 to 1440),
            ``cleanup_crontab``, ``mark_timeout_crontab`` (5-field crontabs Celery accepts);
            ``None`` clears a field's override. Fields not named keep their value. No
            changes: nothing is written.

    Raises:
        RuntimeConfigError: one or more invalid fields (all are named); nothing is written.
        TypeError: ``user`` is not a saved user.

    The write is one ``INSERT … ON CONFLICT (id) DO UPDATE`` of the named columns, so two
    concurrent changes of different fields both survive. This process's cache is cleared at
    once and again at commit; other processes see the change when their cache expires. At
    commit, :data:`~agentcore_task.signals.runtime_config_changed` is sent: through it a
    change of a crontab moves that job's django_celery_beat row (when installed) to the new
    schedule, and changes nothing else in it.
    """
    cleaned = validated(changes)
    updated_by_id = _user_pk(user)
    if not cleaned:
        return get_runtime_config(fresh=True)
    alias = router.db_for_write(TaskRuntimeConfig)
    with transaction.atomic(using=alias):
        TaskRuntimeConfig.objects.using(alias).bulk_create(
            [TaskRuntimeConfig(pk=1, updated_by_id=updated_by_id, **cleaned)],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=[*cleaned, "updated_at", "updated_by"],
        )
        clear_cache()
        transaction.on_commit(clear_cache, using=alias)
        transaction.on_commit(functools.partial(_announce, sorted(cleaned)), using=alias)
        config = get_runtime_config(fresh=True)
    logger.info(
        "agentcore_task runtime configuration changed by user %s: %s", updated_by_id, cleaned
    )
    return config


def _announce(fields: list[str]) -> None:
    """Tell the receivers of ``runtime_config_changed`` which fields changed (after commit).

    ``send_robust``: the change is committed already, so a receiver that fails must not make
    the writer see an error; Django logs the failure (logger ``django.dispatch``), and the
    Beat glue logs its own under ``agentcore_task``.
    """
    runtime_config_changed.send_robust(sender=TaskRuntimeConfig, fields=fields)
