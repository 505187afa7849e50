"""The periodic jobs' Beat entries: built from settings, merged into ``CELERY_BEAT_SCHEDULE``.

``AppConfig.ready()`` calls :func:`merge_beat_schedule`, which adds the entries of the two
periodic jobs (cleanup and timeout marking) to ``settings.CELERY_BEAT_SCHEDULE`` (creating
it when missing): an entry whose job is disabled is left out, and an entry the project
already set under the same key is kept as it is. Celery sees the merge when it is
configured from Django's settings
(``app.config_from_object("django.conf:settings", namespace="CELERY")``); a project that
configures Celery otherwise adds them itself::

    app.conf.beat_schedule.update(get_cleanup_beat_schedule())
    app.conf.beat_schedule.update(get_mark_timeout_beat_schedule())

The merge runs at start-up, before the database may be queried, so it reads the settings;
the runtime configuration's crontab overrides (stored in the database) reach Beat only
through django_celery_beat's DatabaseScheduler. Under that scheduler the merge adds nothing:
its ``PeriodicTask`` rows are the schedule, see :mod:`agentcore_task.beat_scheduler`;
:func:`sync_beat_schedule_to_database` rewrites them from the configuration on demand.

The entries are built in :mod:`agentcore_task.beat_entries` and the crontabs parsed in
:mod:`agentcore_task.crontab`; this module only writes the setting, and re-exports those
names so that ``agentcore_task.beat`` stays the one path to import them from.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from agentcore_task.beat_detection import database_scheduler_requested
from agentcore_task.beat_entries import (
    CLEANUP_BEAT_KEY,
    CLEANUP_TASK_NAME,
    MARK_TIMEOUT_BEAT_KEY,
    MARK_TIMEOUT_FALLBACK_MINUTES,
    MARK_TIMEOUT_TASK_NAME,
    Entry,
    get_cleanup_beat_schedule,
    get_mark_timeout_beat_schedule,
    merged_keys,
    record_merged,
)
from agentcore_task.crontab import parse_crontab

__all__ = [
    "CLEANUP_BEAT_KEY",
    "CLEANUP_TASK_NAME",
    "MARK_TIMEOUT_BEAT_KEY",
    "MARK_TIMEOUT_FALLBACK_MINUTES",
    "MARK_TIMEOUT_TASK_NAME",
    "get_cleanup_beat_schedule",
    "get_mark_timeout_beat_schedule",
    "merge_beat_schedule",
    "merged_keys",
    "parse_crontab",
    "sync_beat_schedule_to_database",
]

logger = logging.getLogger("agentcore_task")


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
    record_merged(added)
    return added


def sync_beat_schedule_to_database() -> dict[str, str]:
    """Rewrite the two entries' rows in django_celery_beat's tables from the configuration.

    :func:`agentcore_task.beat_scheduler.sync_beat_schedule_to_database`, which documents it.

    Raises:
        ImproperlyConfigured: django_celery_beat is not installed, or not in
            ``INSTALLED_APPS``.
    """
    # Imported here: the glue imports the models, and this module must stay importable
    # before django.setup() (a project's Celery module builds its schedule at import).
    from agentcore_task.beat_scheduler import sync_beat_schedule_to_database as sync

    return sync()
