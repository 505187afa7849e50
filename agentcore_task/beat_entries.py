"""The periodic jobs' Beat entries, built from a crontab text and the ``*_ENABLED`` settings.

Building an entry is kept apart from where it goes: :mod:`agentcore_task.beat` merges the
entries into ``settings.CELERY_BEAT_SCHEDULE``, :mod:`agentcore_task.beat_scheduler` writes
them into django_celery_beat's rows. Importable before ``django.setup()`` (it reads only the
settings, at call time), so a project's Celery module may build its schedule at import.
This module also keeps the record of which entries the merge added in this process: the
DatabaseScheduler glue needs it and must not import the settings writer to get it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery.schedules import crontab

from agentcore_task import conf
from agentcore_task.crontab import parse_crontab
from agentcore_task.task_names import CLEANUP_TASK_NAME, MARK_TIMEOUT_TASK_NAME
from agentcore_task.validation import checked_int

__all__ = [
    "CLEANUP_BEAT_KEY",
    "MARK_TIMEOUT_BEAT_KEY",
    "Entry",
    "get_cleanup_beat_schedule",
    "get_mark_timeout_beat_schedule",
    "merged_keys",
    "record_merged",
]

logger = logging.getLogger("agentcore_task")

CLEANUP_BEAT_KEY = "agentcore-task-cleanup-old-executions"
MARK_TIMEOUT_BEAT_KEY = "agentcore-task-mark-timed-out-executions"
# The task names (agentcore_task.tasks), repeated here so that building the schedule in
# AppConfig.ready() does not import the tasks and, through them, the models and Celery app.

# Timeout marking's interval when its crontab does not parse: the default crontab's period.
MARK_TIMEOUT_FALLBACK_MINUTES = 30

Entry = dict[str, Any]


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
    hours = None if interval_hours is None else checked_int("interval_hours", interval_hours)
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


# What merge_beat_schedule() added in this process: at a DatabaseScheduler Beat's start, an
# entry found here was imported over its row (beat_scheduler.on_beat_init repairs that).
_merged: dict[str, Entry] = {}


def record_merged(added: dict[str, Entry]) -> None:
    """Note the entries :func:`agentcore_task.beat.merge_beat_schedule` added to the settings."""
    _merged.update(added)


def merged_keys() -> set[str]:
    """Return the keys :func:`merge_beat_schedule` added in this process (not the project's)."""
    return set(_merged)
