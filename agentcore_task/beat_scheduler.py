"""Our Beat entries under django_celery_beat's DatabaseScheduler: the rows are the schedule.

django_celery_beat's ``DatabaseScheduler`` writes every entry of ``beat_schedule`` over the
``PeriodicTask`` row of the same name each time it starts (``update_from_dict`` in its
``setup_schedule``). Had our entries been in that dict, each Beat start would have put the
settings' crontab back, losing the runtime override (``PATCH config/``) and whatever an
admin had changed in our rows. So, when this process's Beat runs that scheduler:

* :func:`agentcore_task.beat.merge_beat_schedule` leaves our entries out of
  ``CELERY_BEAT_SCHEDULE`` (:func:`database_scheduler_requested` tells it);
* :func:`on_beat_init` (Celery's ``beat_init`` signal, once the scheduler is set up) creates
  a missing row from the effective configuration and adds it to the running schedule,
  disables the row of a job that its ``*_ENABLED`` setting turns off, and leaves every other
  row exactly as it is;
* a change of a crontab in the runtime configuration moves that job's row to the new
  schedule and changes nothing else in it (:func:`push_crontab_change`).

The scheduler is known before the schedule is set up when Beat is started from Celery's
command line (``celery beat -S …``, ``celery worker -B --scheduler …``, which fall back to
the ``beat_scheduler`` setting) or when ``CELERY_BEAT_SCHEDULER`` names it. When it was not
(a Beat built in code, or ``django.setup()`` run before the command line was read), our
entries were imported over the rows; :func:`on_beat_init` then puts the runtime crontabs back
and logs a WARNING saying how to keep the rows intact.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings

__all__ = [
    "database_scheduler_requested",
    "is_database_scheduler",
    "on_beat_init",
    "push_crontab_change",
]

logger = logging.getLogger("agentcore_task")

DATABASE_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"


def _requested_scheduler() -> str | None:
    """Name the scheduler the Beat of this process will run, as far as is known now.

    Inside Celery's command line (click), the running ``beat`` command, or ``worker`` with
    ``-B``, knows it: its option, else the app's ``beat_scheduler`` setting. Elsewhere only
    the Django setting can say.
    """
    import click

    context = click.get_current_context(silent=True)
    while context is not None:
        app = getattr(context.obj, "app", None)
        command = context.command.name
        if app is not None and (
            command == "beat" or (command == "worker" and context.params.get("beat"))
        ):
            return context.params.get("scheduler") or app.conf.beat_scheduler
        context = context.parent
    name = getattr(settings, "CELERY_BEAT_SCHEDULER", None)
    return name if isinstance(name, str) else None


def is_database_scheduler(name: object) -> bool:
    """Tell whether ``name`` (a Beat ``-S`` value or class) is django_celery_beat's scheduler.

    Subclasses count, and so does the ``django`` alias django_celery_beat registers. False
    when django_celery_beat is not in ``INSTALLED_APPS`` or the name does not import.
    """
    if not name or not apps.is_installed("django_celery_beat"):
        return False
    from celery.utils.imports import load_extension_class_names, symbol_by_name
    from django_celery_beat.schedulers import DatabaseScheduler

    if isinstance(name, str):
        try:
            aliases: dict[str, str] = dict(
                load_extension_class_names("celery.beat_schedulers")  # type: ignore[arg-type]
            )
            name = symbol_by_name(name, aliases=aliases)
        except Exception:  # Beat itself reports a scheduler it cannot import
            return False
    return isinstance(name, type) and issubclass(name, DatabaseScheduler)


def database_scheduler_requested() -> bool:
    """Tell whether this process's Beat will run django_celery_beat's DatabaseScheduler."""
    return is_database_scheduler(_requested_scheduler())


def _wanted_entries() -> dict[str, dict[str, Any] | None]:
    """Return Beat key → our entry with the effective crontab, or None for a disabled job."""
    from agentcore_task.beat import (
        CLEANUP_BEAT_KEY,
        MARK_TIMEOUT_BEAT_KEY,
        get_cleanup_beat_schedule,
        get_mark_timeout_beat_schedule,
    )
    from agentcore_task.runtime_config import (
        effective_cleanup_crontab,
        effective_mark_timeout_crontab,
    )

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
    from agentcore_task import beat, beat_database

    wanted = _wanted_entries()
    imported = sorted(beat.merged_keys() & set(scheduler.app.conf.beat_schedule or {}))
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
    from agentcore_task import beat_database
    from agentcore_task.beat import CLEANUP_BEAT_KEY, MARK_TIMEOUT_BEAT_KEY

    keys = {"cleanup_crontab": CLEANUP_BEAT_KEY, "mark_timeout_crontab": MARK_TIMEOUT_BEAT_KEY}
    wanted = _wanted_entries()
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
