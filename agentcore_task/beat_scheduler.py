"""Our Beat entries under django_celery_beat's DatabaseScheduler: the rows are the schedule.

django_celery_beat's ``DatabaseScheduler`` writes every entry of ``beat_schedule`` over the
``PeriodicTask`` row of the same name each time it starts (``update_from_dict`` in its
``setup_schedule``). Had our entries been in that dict, each Beat start would have put the
settings' crontab back, losing the runtime override (``PATCH config/``) and whatever an
admin had changed in our rows. So, when this process's Beat runs that scheduler:

* :func:`agentcore_task.beat.merge_beat_schedule` leaves our entries out of
  ``CELERY_BEAT_SCHEDULE`` (:func:`~agentcore_task.beat_detection.database_scheduler_requested`
  tells it);
* :func:`on_beat_init` (Celery's ``beat_init`` signal, once the scheduler is set up) creates
  a missing row from the effective configuration and adds it to the running schedule,
  disables the row of a job that its ``*_ENABLED`` setting turns off, and leaves every other
  row exactly as it is;
* a change of a crontab in the runtime configuration moves that job's row to the new
  schedule and changes nothing else in it (:func:`push_crontab_change`, run by
  :func:`on_runtime_config_changed`, the receiver of ``runtime_config_changed``);
* :func:`sync_beat_schedule_to_database` rewrites both rows from the configuration on demand.

The scheduler is known before the schedule is set up when Beat is started from Celery's
command line (``celery beat -S …``, ``celery worker -B --scheduler …``, which fall back to
the ``beat_scheduler`` setting) or when ``CELERY_BEAT_SCHEDULER`` names it. When it was not
(a Beat built in code, or ``django.setup()`` run before the command line was read), our
entries were imported over the rows; :func:`on_beat_init` then puts the runtime crontabs back
and logs a WARNING saying how to keep the rows intact.

This module imports the models (through the runtime configuration), so only
``AppConfig.ready()`` and code running after ``django.setup()`` import it; it never imports the
settings writer (:mod:`agentcore_task.beat`), which imports it only inside a function.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from agentcore_task.beat_detection import (
    DATABASE_SCHEDULER,
    database_scheduler_requested,
    is_database_scheduler,
)
from agentcore_task.beat_entries import (
    CLEANUP_BEAT_KEY,
    MARK_TIMEOUT_BEAT_KEY,
    Entry,
    get_cleanup_beat_schedule,
    get_mark_timeout_beat_schedule,
    merged_keys,
)
from agentcore_task.runtime_config import (
    CRONTAB_FIELDS,
    effective_cleanup_crontab,
    effective_mark_timeout_crontab,
)

__all__ = [
    "database_scheduler_requested",
    "effective_entries",
    "is_database_scheduler",
    "on_beat_init",
    "on_runtime_config_changed",
    "push_crontab_change",
    "sync_beat_schedule_to_database",
]

logger = logging.getLogger("agentcore_task")


def effective_entries() -> dict[str, Entry | None]:
    """Return Beat key → our entry with the effective crontab, or None for a disabled job.

    The effective crontab is the runtime configuration's (database override, else the
    settings): what the rows should say, unlike ``CELERY_BEAT_SCHEDULE``, built at start-up
    from the settings alone.
    """
    cleanup = get_cleanup_beat_schedule(crontab_text=effective_cleanup_crontab())
    mark_timeout = get_mark_timeout_beat_schedule(crontab_text=effective_mark_timeout_crontab())
    return {
        CLEANUP_BEAT_KEY: cleanup.get(CLEANUP_BEAT_KEY),
        MARK_TIMEOUT_BEAT_KEY: mark_timeout.get(MARK_TIMEOUT_BEAT_KEY),
    }


def on_beat_init(sender: Any = None, **kwargs: Any) -> None:
    """At a DatabaseScheduler Beat's start, create our missing rows; keep the others.

    Connected to Celery's ``beat_init`` by ``AppConfig.ready()``; ``sender`` is Beat's
    service, whose scheduler has read its rows by then. A failure is logged, never raised:
    Beat must run the project's other entries whatever happens to ours.
    """
    scheduler = getattr(sender, "scheduler", None)
    if scheduler is None or not is_database_scheduler(type(scheduler)):
        return
    try:
        _reconcile(scheduler)
    except Exception:
        logger.exception("agentcore_task could not check its PeriodicTask rows at Beat start")


def _reconcile(scheduler: Any) -> None:
    from agentcore_task import beat_database  # optional dependency: known installed here

    wanted = effective_entries()
    imported = sorted(merged_keys() & set(scheduler.app.conf.beat_schedule or {}))
    if imported:
        logger.warning(
            "agentcore_task: django_celery_beat's DatabaseScheduler imported our Beat entries "
            "%s from CELERY_BEAT_SCHEDULE and wrote them over their PeriodicTask rows (an "
            "admin's changes to their schedule, queue or arguments are lost); the runtime "
            "crontabs are put back. Set CELERY_BEAT_SCHEDULER = %r so that our entries stay "
            "out of CELERY_BEAT_SCHEDULE",
            ", ".join(imported),
            DATABASE_SCHEDULER,
        )
    live = scheduler.schedule
    for key, entry in wanted.items():
        if entry is None:
            if beat_database.disable_periodic_task(key):
                logger.info("agentcore_task disabled the PeriodicTask %r: its job is off", key)
            live.pop(key, None)
            continue
        if key in imported:
            beat_database.set_periodic_task_schedule(key, entry)
            row = scheduler.Model.objects.get(name=key)
        else:
            row = beat_database.create_periodic_task(key, entry)
            if row is None:
                continue  # it exists: the scheduler read it as it is
            logger.info("agentcore_task created the PeriodicTask %r (%s)", key, entry["schedule"])
        if row.enabled:
            live[key] = scheduler.Entry(row, app=scheduler.app)
            logger.info("agentcore_task added %r to the running DatabaseScheduler", key)


def push_crontab_change(fields: Iterable[str]) -> dict[str, str]:
    """Move the rows of the jobs whose crontab changed to the effective crontab.

    ``fields`` are runtime configuration fields (``cleanup_crontab``,
    ``mark_timeout_crontab``); other names are ignored. Only the schedule of the named jobs'
    rows changes (a missing row is created); ``enabled``, the queue and the arguments stay as
    an admin left them, and the other job's row is not touched. A job disabled by its
    ``*_ENABLED`` setting is skipped.

    Returns:
        Beat key → ``"created"``, ``"updated"``, ``"unchanged"`` or ``"disabled"`` (skipped).
    """
    from agentcore_task import beat_database  # optional dependency: needs django_celery_beat

    keys = {"cleanup_crontab": CLEANUP_BEAT_KEY, "mark_timeout_crontab": MARK_TIMEOUT_BEAT_KEY}
    wanted = effective_entries()
    outcome: dict[str, str] = {}
    for field in fields:
        key = keys.get(field)
        if key is None:
            continue
        entry = wanted[key]
        outcome[key] = (
            "disabled" if entry is None else beat_database.set_periodic_task_schedule(key, entry)
        )
    return outcome


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
    if not apps.is_installed("django_celery_beat"):
        raise ImproperlyConfigured(
            "sync_beat_schedule_to_database() needs django_celery_beat: pip install "
            "django-celery-beat, add 'django_celery_beat' to INSTALLED_APPS and migrate"
        )
    from agentcore_task import beat_database  # optional dependency: known installed here

    return {
        key: beat_database.write_periodic_task(key, entry)
        for key, entry in effective_entries().items()
    }


def on_runtime_config_changed(sender: Any = None, *, fields: Iterable[str], **kwargs: Any) -> None:
    """Move the changed jobs' django_celery_beat rows to the new crontabs, when it is used.

    The receiver of :data:`agentcore_task.signals.runtime_config_changed` (connected by
    ``AppConfig.ready()``), sent after the change is committed. Beat's static schedule
    (``CELERY_BEAT_SCHEDULE``) is built from the settings when the process starts, so without
    django_celery_beat the crontab overrides never reach Beat; with its DatabaseScheduler, Beat
    notices the changed rows by itself. Only the schedule of the jobs whose crontab changed is
    written: an admin's other edits of the rows stay. A failed push is logged, not raised.
    """
    crontabs = sorted(CRONTAB_FIELDS.intersection(fields))
    if not crontabs or not apps.is_installed("django_celery_beat"):
        return
    try:
        push_crontab_change(crontabs)
    except Exception:
        logger.exception("agentcore_task could not push the new crontabs to django_celery_beat")
