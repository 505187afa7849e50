"""One step of the DatabaseScheduler scenario, in a process of its own; prints one JSON line.

Run by ``tests/integration/test_beat_database_scheduler.py`` as
``python -m tests.beat_db_steps STEP [ARG …]`` with
``DJANGO_SETTINGS_MODULE=tests.beat_db_settings`` (django_celery_beat installed, a database of
its own), between starts of a real
``celery beat -S django_celery_beat.schedulers:DatabaseScheduler``:

* ``migrate``: create the tables;
* ``set-config FIELD VALUE``: ``update_runtime_config`` (``PATCH config/`` does the same), with
  ``null`` for "clear the override";
* ``admin-edit KEY FIELD=VALUE …``: change our PeriodicTask ``KEY`` through the model, as
  django_celery_beat's admin does (``crontab="5 * * * *"``, ``enabled=false``, ``queue=ops``);
* ``admin-delete KEY``: delete our PeriodicTask ``KEY`` through the model;
* ``snapshot``: our PeriodicTask rows and the body of ``GET api/v1/tasks/config/``;
* ``detect NAME …``: whether each scheduler name counts as django_celery_beat's, and which of
  our keys ``CELERY_BEAT_SCHEDULE`` holds in this (non-Beat) process.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _crontab_text(row: Any) -> str | None:
    if row is None:
        return None
    return " ".join([row.minute, row.hour, row.day_of_month, row.month_of_year, row.day_of_week])


def periodic_tasks() -> dict[str, dict[str, Any]]:
    from django_celery_beat.models import PeriodicTask

    return {
        task.name: {
            "task": task.task,
            "enabled": task.enabled,
            "crontab": _crontab_text(task.crontab),
            "interval": None
            if task.interval is None
            else [task.interval.every, task.interval.period],
            "queue": task.queue,
            "total_run_count": task.total_run_count,
        }
        for task in PeriodicTask.objects.filter(name__startswith="agentcore-task-")
    }


def config_api() -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    user, _ = get_user_model().objects.get_or_create(
        username="beat-ops", defaults={"is_staff": True, "is_superuser": True}
    )
    client = APIClient()
    client.force_authenticate(user)
    response = client.get("/api/v1/tasks/config/")
    assert response.status_code == 200, response.content
    return dict(response.json())


def admin_edit(key: str, changes: list[str]) -> None:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    task = PeriodicTask.objects.get(name=key)
    for change in changes:
        field, _, value = change.partition("=")
        if field == "crontab":
            minute, hour, day_of_month, month_of_year, day_of_week = value.split()
            task.crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_month=day_of_month,
                month_of_year=month_of_year,
                day_of_week=day_of_week,
                timezone=task.crontab.timezone if task.crontab else "UTC",
            )
            task.interval = None
        elif field == "enabled":
            task.enabled = value == "true"
        else:
            setattr(task, field, value)
    task.save()


def __getattr__(name: str) -> Any:
    """Build ``SubclassedScheduler`` (a DatabaseScheduler subclass) once Django is set up."""
    if name != "SubclassedScheduler":
        raise AttributeError(name)
    from django_celery_beat.schedulers import DatabaseScheduler

    return type("SubclassedScheduler", (DatabaseScheduler,), {"__module__": __name__})


def main(step: str, *args: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    if step == "migrate":
        call_command("migrate", verbosity=0)
    elif step == "set-config":
        from agentcore_task.runtime_config import update_runtime_config

        field, value = args
        update_runtime_config(**{field: None if value == "null" else value})
    elif step == "admin-edit":
        admin_edit(args[0], list(args[1:]))
    elif step == "admin-delete":
        from django_celery_beat.models import PeriodicTask

        PeriodicTask.objects.get(name=args[0]).delete()
    elif step == "detect":
        from django.conf import settings

        from agentcore_task.beat_scheduler import is_database_scheduler

        detected = {name: is_database_scheduler(name) for name in args}
        merged = sorted(key for key in settings.CELERY_BEAT_SCHEDULE if key.startswith("agentcore"))
        print(json.dumps({"detected": detected, "merged": merged}), flush=True)
        return
    elif step != "snapshot":
        raise SystemExit(f"unknown step {step!r}")
    print(json.dumps({"tasks": periodic_tasks(), "config": config_api()}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
