"""Which scheduler this process's Beat runs: django_celery_beat's DatabaseScheduler or not.

Asked by the settings writer (:func:`agentcore_task.beat.merge_beat_schedule` leaves our
entries out under that scheduler) and by the DatabaseScheduler glue
(:mod:`agentcore_task.beat_scheduler`). A module of its own so that the writer can ask
without importing the glue, which imports the models. Importable before ``django.setup()``;
django_celery_beat, an optional dependency, is imported only once it is known installed.
"""

from __future__ import annotations

import click
from celery.utils.imports import load_extension_class_names, symbol_by_name
from django.apps import apps
from django.conf import settings

__all__ = ["DATABASE_SCHEDULER", "database_scheduler_requested", "is_database_scheduler"]

DATABASE_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"


def _requested_scheduler() -> str | None:
    """Name the scheduler the Beat of this process will run, as far as is known now.

    Inside Celery's command line (click), the running ``beat`` command, or ``worker`` with
    ``-B``, knows it: its option, else the app's ``beat_scheduler`` setting. Elsewhere only
    the Django setting can say.
    """
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
    from django_celery_beat.schedulers import DatabaseScheduler  # optional: installed, checked

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
