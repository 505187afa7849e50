"""Runtime overrides of the periodic jobs' settings, kept in the database.

Operators change the retention, the timeout and the two Beat crontabs without a deploy
(``PATCH api/v1/tasks/config/`` or :func:`update_runtime_config`). Whoever needs one of these
values asks the ``effective_*`` functions: the database override when there is one, else the
``AGENTCORE_TASK_*`` setting, else its default.

Caching: the overrides row is cached per process for ``AGENTCORE_TASK_CONFIG_CACHE_SECONDS``
(default 30; 0 turns the cache off), because the periodic jobs and the API read these values
far more often than anyone changes them. A write clears the cache of the process that wrote;
every other process (other web workers, Celery workers, Beat) keeps its cached copy until it
expires, so it sees the change up to that many seconds later. Reads inside a transaction are
served from the cache but never stored in it: they may see the transaction's own uncommitted
write, which must not outlive a rollback.

Failure policy: the readers never raise because of the database. When the table is missing
(before ``migrate``) or the database is unreachable, they log one WARNING and use the
settings; in autocommit mode that answer is cached like any other, so a dead database costs
one attempt and one log line per cache period, not one per call.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connections, router, transaction

from agentcore_task import conf
from agentcore_task.beat import parse_crontab
from agentcore_task.models import (
    RETENTION_DAYS_LIMITS,
    TIMEOUT_MINUTES_LIMITS,
    TaskRuntimeConfig,
)

__all__ = [
    "FIELDS",
    "RuntimeConfig",
    "RuntimeConfigError",
    "Source",
    "clear_cache",
    "effective_cleanup_crontab",
    "effective_mark_timeout_crontab",
    "effective_retention_days",
    "effective_timeout_minutes",
    "get_runtime_config",
    "update_runtime_config",
    "validate_crontab",
]

logger = logging.getLogger("agentcore_task")

Source = Literal["database", "settings", "default"]
Value = int | str


@dataclasses.dataclass(frozen=True)
class _Field:
    setting: str
    fallback: Callable[[], Value]  # the conf reader: the setting, else its default
    limits: tuple[int, int] | None  # None: a crontab


_FIELDS: dict[str, _Field] = {
    "retention_days": _Field(
        "AGENTCORE_TASK_RETENTION_DAYS", conf.retention_days, RETENTION_DAYS_LIMITS
    ),
    "timeout_minutes": _Field(
        "AGENTCORE_TASK_TIMEOUT_MINUTES", conf.timeout_minutes, TIMEOUT_MINUTES_LIMITS
    ),
    "cleanup_crontab": _Field("AGENTCORE_TASK_CLEANUP_CRONTAB", conf.cleanup_crontab, None),
    "mark_timeout_crontab": _Field(
        "AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB", conf.mark_timeout_crontab, None
    ),
}
FIELDS: tuple[str, ...] = tuple(_FIELDS)
CRONTAB_FIELDS = frozenset(name for name, field in _FIELDS.items() if field.limits is None)
CRONTAB_MAX_LENGTH = TaskRuntimeConfig._meta.get_field("cleanup_crontab").max_length or 100


class RuntimeConfigError(ValueError):
    """Invalid runtime configuration; ``errors`` maps each bad field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        problems = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        super().__init__(f"invalid runtime configuration: {problems}")


@dataclasses.dataclass(frozen=True)
class _Overrides:
    """The stored row, as plain values (safe to share between threads)."""

    values: Mapping[str, Value | None]
    updated_at: dt.datetime | None = None
    updated_by_id: int | None = None
    updated_by_username: str | None = None


_NO_OVERRIDES = _Overrides(values={})


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


# --- Validation ------------------------------------------------------------------------------


def validate_crontab(text: object) -> str:
    """Return ``text`` as a 5-field crontab Celery accepts, fields joined by single spaces.

    Raises:
        ValueError: not a string, not five fields, or a field Celery's ``crontab`` refuses
            (minute hour day-of-month month day-of-week, e.g. ``"0 2 * * *"``).
    """
    if not isinstance(text, str):
        raise ValueError(f"Enter a crontab string such as '0 2 * * *', not {type(text).__name__}.")
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            "Enter five fields: minute hour day-of-month month day-of-week, e.g. '0 2 * * *'."
        )
    normalized = " ".join(fields)
    if len(normalized) > CRONTAB_MAX_LENGTH or not normalized.isascii():
        raise ValueError(f"Enter at most {CRONTAB_MAX_LENGTH} ASCII characters.")
    try:
        parse_crontab(normalized)  # the same parsing Beat's entries get
    except ValueError:
        raise ValueError(f"Celery does not accept the crontab {normalized!r}.") from None
    return normalized


def _validate_number(value: object, limits: tuple[int, int]) -> int:
    low, high = limits
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"Enter a whole number from {low} to {high}.")
    if not low <= value <= high:
        raise ValueError(f"Enter a whole number from {low} to {high}, not {value}.")
    return value


def _validated(changes: Mapping[str, object]) -> dict[str, Value | None]:
    """Check every change and return them cleaned, or raise once naming every bad field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Value | None] = {}
    for name, value in changes.items():
        field = _FIELDS.get(name)
        if field is None:
            errors[name] = [f"Unknown field; the fields are {', '.join(FIELDS)}."]
            continue
        if value is None:
            cleaned[name] = None
            continue
        try:
            if field.limits is None:
                cleaned[name] = validate_crontab(value)
            else:
                cleaned[name] = _validate_number(value, field.limits)
        except ValueError as error:
            errors[name] = [str(error)]
    if errors:
        raise RuntimeConfigError(errors)
    return cleaned


# --- The cached row --------------------------------------------------------------------------

_lock = threading.Lock()
_cached: tuple[float, _Overrides] | None = None


def clear_cache() -> None:
    """Forget this process's cached overrides: the next read goes to the database."""
    global _cached
    with _lock:
        _cached = None


def _select() -> _Overrides:
    row = TaskRuntimeConfig.objects.select_related("updated_by").filter(pk=1).first()
    if row is None:
        return _NO_OVERRIDES
    user = row.updated_by
    return _Overrides(
        values={name: getattr(row, name) for name in FIELDS},
        updated_at=row.updated_at,
        updated_by_id=row.updated_by_id,
        updated_by_username=user.get_username() if user is not None else None,
    )


def _load() -> tuple[_Overrides, bool]:
    """Read the row; return it and whether it may be cached."""
    connection = connections[router.db_for_read(TaskRuntimeConfig)]
    in_transaction = connection.in_atomic_block
    try:
        if in_transaction:
            # A savepoint, so that a failure (no table yet) does not break the caller's
            # transaction.
            with transaction.atomic(using=connection.alias, savepoint=True):
                return _select(), False
        return _select(), True
    except DatabaseError as error:
        if not in_transaction:
            connection.close_if_unusable_or_obsolete()
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        logger.warning(
            "agentcore_task cannot read its runtime configuration (%s: %s); using the settings",
            type(error).__name__,
            first_line,
        )
        return _NO_OVERRIDES, not in_transaction


def _overrides(*, fresh: bool = False) -> _Overrides:
    global _cached
    ttl = conf.config_cache_seconds()
    now = time.monotonic()
    with _lock:
        entry = _cached
    if not fresh and entry is not None and now - entry[0] < ttl:
        return entry[1]
    overrides, cacheable = _load()
    if cacheable and ttl > 0:
        with _lock:
            _cached = (now, overrides)
    return overrides


# --- Readers ---------------------------------------------------------------------------------


def _stored(overrides: _Overrides, name: str) -> Value | None:
    """Return the stored override of ``name``, or None when absent or no longer valid.

    The database checks ranges and the crontab's shape, not what Celery accepts; a value a
    DBA wrote by hand that Celery refuses is ignored (with a WARNING), not passed on to Beat.
    """
    value = overrides.values.get(name)
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
    stored = _stored(_overrides(), name)
    return stored if stored is not None else _FIELDS[name].fallback()


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
    overrides = _overrides(fresh=fresh)
    values: dict[str, Value] = {}
    sources: dict[str, Source] = {}
    fallbacks: dict[str, Value] = {}
    for name, field in _FIELDS.items():
        fallbacks[name] = field.fallback()
        stored = _stored(overrides, name)
        if stored is not None:
            values[name], sources[name] = stored, "database"
        else:
            values[name] = fallbacks[name]
            sources[name] = "settings" if conf.is_set(field.setting) else "default"
    return RuntimeConfig(
        values=values,
        sources=sources,
        fallbacks=fallbacks,
        updated_at=overrides.updated_at,
        updated_by_id=overrides.updated_by_id,
        updated_by_username=overrides.updated_by_username,
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
    once and again at commit; other processes see the change when their cache expires. A
    change of a crontab moves that job's django_celery_beat row (when installed) to the new
    schedule at commit, and changes nothing else in it.
    """
    cleaned = _validated(changes)
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
        changed_crontabs = sorted(CRONTAB_FIELDS & cleaned.keys())
        if changed_crontabs:
            transaction.on_commit(functools.partial(_sync_beat, changed_crontabs), using=alias)
        config = get_runtime_config(fresh=True)
    logger.info(
        "agentcore_task runtime configuration changed by user %s: %s", updated_by_id, cleaned
    )
    return config


def _sync_beat(fields: list[str]) -> None:
    """Move the changed jobs' django_celery_beat rows to the new crontabs, when it is used.

    Beat's static schedule (``CELERY_BEAT_SCHEDULE``) is built from the settings when the
    process starts, so without django_celery_beat the crontab overrides never reach Beat.
    With its DatabaseScheduler, Beat notices the changed rows by itself. Only the schedule of
    the jobs whose crontab changed is written: an admin's other edits of the rows stay. The
    config change is committed already: a failed push is logged, not raised.
    """
    if not apps.is_installed("django_celery_beat"):
        return
    from agentcore_task.beat_scheduler import push_crontab_change

    try:
        push_crontab_change(fields)
    except Exception:
        logger.exception("agentcore_task could not push the new crontabs to django_celery_beat")
