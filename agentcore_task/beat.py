"""The periodic jobs' Beat entries: built from settings, merged into ``CELERY_BEAT_SCHEDULE``.

``AppConfig.ready()`` calls :func:`merge_beat_schedule`, which adds the two entries of SPEC's
"Periodic tasks" to ``settings.CELERY_BEAT_SCHEDULE`` (creating it when missing): an entry
whose job is disabled is left out, and an entry the project already set under the same key
is kept as it is. Celery sees the merge when it is configured from Django's settings
(``app.config_from_object("django.conf:settings", namespace="CELERY")``); a project that
configures Celery otherwise adds them itself::

    app.conf.beat_schedule.update(get_cleanup_beat_schedule())
    app.conf.beat_schedule.update(get_mark_timeout_beat_schedule())

The merge runs at start-up, before the database may be queried, so it reads the settings;
the runtime configuration's crontab overrides (stored in the database) reach Beat only
through django_celery_beat's DatabaseScheduler. Under that scheduler the merge adds nothing:
its ``PeriodicTask`` rows are the schedule, see :mod:`agentcore_task.beat_scheduler`;
:func:`sync_beat_schedule_to_database` rewrites them from the configuration on demand.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery.schedules import crontab
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from agentcore_task import conf

__all__ = [
    "CLEANUP_BEAT_KEY",
    "MARK_TIMEOUT_BEAT_KEY",
    "get_cleanup_beat_schedule",
    "get_mark_timeout_beat_schedule",
    "merge_beat_schedule",
    "merged_keys",
    "parse_crontab",
    "sync_beat_schedule_to_database",
]

logger = logging.getLogger("agentcore_task")

CLEANUP_BEAT_KEY = "agentcore-task-cleanup-old-executions"
MARK_TIMEOUT_BEAT_KEY = "agentcore-task-mark-timed-out-executions"
# The task names (agentcore_task.tasks), repeated here so that building the schedule in
# AppConfig.ready() does not import the tasks and, through them, the models and Celery app.
CLEANUP_TASK_NAME = "agentcore_task.adapters.django.tasks.cleanup_old_task_executions"
MARK_TIMEOUT_TASK_NAME = "agentcore_task.adapters.django.tasks.mark_timed_out_task_executions"

# Timeout marking's interval when its crontab does not parse: the default crontab's period.
MARK_TIMEOUT_FALLBACK_MINUTES = 30

Entry = dict[str, Any]

# What merge_beat_schedule() added in this process: at a DatabaseScheduler Beat's start, an
# entry found here was imported over its row (beat_scheduler.on_beat_init repairs that).
_merged: dict[str, Entry] = {}


def parse_crontab(text: str) -> crontab:
    """Return Celery's ``crontab`` for a 5-field string (minute hour day month weekday).

    Raises:
        ValueError: not five fields, or a field Celery refuses.
    """
    fields = text.split() if isinstance(text, str) else []
    if len(fields) != 5:
        raise ValueError(f"{text!r} is not a 5-field crontab (minute hour day month weekday)")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        return crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
        )
    except (ValueError, TypeError, IndexError, KeyError, OverflowError) as error:
        raise ValueError(f"{text!r} is not a crontab Celery accepts: {error}") from None


def _cleanup_schedule(crontab_text: str, interval_hours: int | None) -> crontab | dt.timedelta:
    """Return the cleanup's schedule: every ``interval_hours`` when given, else the crontab.

    A crontab that does not parse falls back to ``AGENTCORE_TASK_CLEANUP_BEAT_INTERVAL_HOURS``
    with a WARNING naming the setting: a typo must not silently stop the cleanup.
    """
    if interval_hours is not None:
        return dt.timedelta(hours=interval_hours)
    try:
        return parse_crontab(crontab_text)
    except ValueError as error:
        fallback = conf.cleanup_beat_interval_hours()
        logger.warning(
            "agentcore_task: AGENTCORE_TASK_CLEANUP_CRONTAB does not parse (%s); the cleanup "
            "runs every %d hour(s) (AGENTCORE_TASK_CLEANUP_BEAT_INTERVAL_HOURS) instead",
            error,
            fallback,
        )
        return dt.timedelta(hours=fallback)


def _mark_timeout_schedule(crontab_text: str) -> crontab | dt.timedelta:
    """Return timeout marking's schedule: the crontab, else every 30 minutes (the default's).

    A crontab that does not parse is logged as a WARNING naming the setting.
    """
    try:
        return parse_crontab(crontab_text)
    except ValueError as error:
        logger.warning(
            "agentcore_task: AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB does not parse (%s); timeout "
            "marking runs every %d minutes instead",
            error,
            MARK_TIMEOUT_FALLBACK_MINUTES,
        )
        return dt.timedelta(minutes=MARK_TIMEOUT_FALLBACK_MINUTES)


def _check_interval(interval_hours: object) -> int | None:
    if interval_hours is None:
        return None
    if isinstance(interval_hours, bool) or not isinstance(interval_hours, int):
        raise TypeError(f"interval_hours must be an int or None, not {interval_hours!r}")
    if interval_hours < 1:
        raise ValueError(f"interval_hours must be at least 1, got {interval_hours}")
    return interval_hours


def get_cleanup_beat_schedule(
    interval_hours: int | None = None, *, crontab_text: str | None = None
) -> dict[str, Entry]:
    """Return the cleanup's Beat entry as ``{key: entry}``, ready to merge into a schedule.

    Args:
        interval_hours: run every this many hours instead of on the crontab.
        crontab_text: the crontab to use; default ``AGENTCORE_TASK_CLEANUP_CRONTAB``
            (``"0 2 * * *"``). One that does not parse falls back to
            ``AGENTCORE_TASK_CLEANUP_BEAT_INTERVAL_HOURS`` (24), logged as a WARNING.

    Returns:
        ``{"agentcore-task-cleanup-old-executions": {"task": …, "schedule": …}}``, or ``{}``
        when ``AGENTCORE_TASK_CLEANUP_ENABLED`` is False.

    Raises:
        TypeError, ValueError: ``interval_hours`` is not a positive int.
    """
    hours = _check_interval(interval_hours)
    if not conf.cleanup_enabled():
        return {}
    text = conf.cleanup_crontab() if crontab_text is None else crontab_text
    return {
        CLEANUP_BEAT_KEY: {"task": CLEANUP_TASK_NAME, "schedule": _cleanup_schedule(text, hours)}
    }


def get_mark_timeout_beat_schedule(*, crontab_text: str | None = None) -> dict[str, Entry]:
    """Return timeout marking's Beat entry as ``{key: entry}``, ready to merge into a schedule.

    Args:
        crontab_text: default ``AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB`` (``"*/30 * * * *"``).

    Returns:
        ``{"agentcore-task-mark-timed-out-executions": {"task": …, "schedule": …}}``, or ``{}``
        when ``AGENTCORE_TASK_MARK_TIMEOUT_ENABLED`` is False. A crontab that does not
        parse falls back to every 30 minutes, logged as a WARNING.
    """
    if not conf.mark_timeout_enabled():
        return {}
    text = conf.mark_timeout_crontab() if crontab_text is None else crontab_text
    return {
        MARK_TIMEOUT_BEAT_KEY: {
            "task": MARK_TIMEOUT_TASK_NAME,
            "schedule": _mark_timeout_schedule(text),
        }
    }


def merge_beat_schedule() -> dict[str, Entry]:
    """Add the enabled entries to ``settings.CELERY_BEAT_SCHEDULE``; return what was added.

    The project's own entry under one of our keys is kept untouched. The setting is created
    when missing and updated in place otherwise, so a Celery app that already holds the dict
    sees the entries too. Nothing is added when this process's Beat runs django_celery_beat's
    DatabaseScheduler, which would write the entries over its rows at every start
    (:mod:`agentcore_task.beat_scheduler` looks after the rows instead).

    Raises:
        ImproperlyConfigured: ``CELERY_BEAT_SCHEDULE`` is not a dict.
    """
    schedule = getattr(settings, "CELERY_BEAT_SCHEDULE", None)
    if schedule is None:
        schedule = {}
        settings.CELERY_BEAT_SCHEDULE = schedule
    if not isinstance(schedule, dict):
        raise ImproperlyConfigured(
            f"CELERY_BEAT_SCHEDULE must be a dict, not {type(schedule).__name__}"
        )
    from agentcore_task.beat_scheduler import database_scheduler_requested

    if database_scheduler_requested():
        logger.info(
            "agentcore_task leaves its Beat entries out of CELERY_BEAT_SCHEDULE: this Beat runs "
            "django_celery_beat's DatabaseScheduler, whose PeriodicTask rows are the schedule"
        )
        return {}
    added: dict[str, Entry] = {}
    for key, entry in {**get_cleanup_beat_schedule(), **get_mark_timeout_beat_schedule()}.items():
        if key in schedule:
            logger.info("agentcore_task keeps the project's own Beat entry %r", key)
            continue
        schedule[key] = added[key] = entry
    _merged.update(added)
    return added


def merged_keys() -> set[str]:
    """Return the keys :func:`merge_beat_schedule` added in this process (not the project's)."""
    return set(_merged)


def sync_beat_schedule_to_database() -> dict[str, str]:
    """Rewrite the two entries' rows in django_celery_beat's tables from the configuration.

    Beat creates missing rows by itself and otherwise leaves them as an admin set them
    (:mod:`agentcore_task.beat_scheduler`); call this to make the configuration win, e.g.
    after changing a crontab in the settings: from a deploy step, a ``post_migrate`` handler
    or a shell. Each job is one ``PeriodicTask`` named by its Beat key; its task, schedule
    and ``enabled`` are set, its queue, arguments and other fields kept. The schedule is a
    ``CrontabSchedule`` (or an ``IntervalSchedule`` in hours, when the cleanup crontab does
    not parse), reused when an identical one exists; the crontabs are the runtime
    configuration's (database override, else the settings). A disabled job's row is kept but
    disabled. Idempotent; the saves notify a running DatabaseScheduler
    (``PeriodicTasks.changed``), which picks them up without a restart.

    Returns:
        Beat key → ``"created"``, ``"updated"``, ``"unchanged"``, ``"disabled"`` or
        ``"absent"`` (disabled and never created).

    Raises:
        ImproperlyConfigured: django_celery_beat is not installed, or not in
            ``INSTALLED_APPS``.
    """
    from django.apps import apps

    if not apps.is_installed("django_celery_beat"):
        raise ImproperlyConfigured(
            "sync_beat_schedule_to_database() needs django_celery_beat: pip install "
            "django-celery-beat, add 'django_celery_beat' to INSTALLED_APPS and migrate"
        )
    from agentcore_task import beat_database
    from agentcore_task.runtime_config import (
        effective_cleanup_crontab,
        effective_mark_timeout_crontab,
    )

    wanted: dict[str, Entry | None] = {
        CLEANUP_BEAT_KEY: get_cleanup_beat_schedule(crontab_text=effective_cleanup_crontab()).get(
            CLEANUP_BEAT_KEY
        ),
        MARK_TIMEOUT_BEAT_KEY: get_mark_timeout_beat_schedule(
            crontab_text=effective_mark_timeout_crontab()
        ).get(MARK_TIMEOUT_BEAT_KEY),
    }
    return {key: beat_database.write_periodic_task(key, entry) for key, entry in wanted.items()}
