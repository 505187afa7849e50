"""Drive ``sync_beat_schedule_to_database`` through its cases and print what the tables hold.

Run by ``tests/integration/test_beat.py`` as ``python -m tests.beat_db_check`` with
``DJANGO_SETTINGS_MODULE=tests.beat_db_settings``; prints one JSON line per step.
"""

from __future__ import annotations

import json
from typing import Any


def snapshot(label: str, outcome: Any) -> None:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask
    from django_celery_beat.schedulers import ModelEntry

    from tests.celery_app import app

    tasks = {}
    for task in PeriodicTask.objects.filter(name__startswith="agentcore-task-"):
        crontab = task.crontab
        tasks[task.name] = {
            "task": task.task,
            "enabled": task.enabled,
            "crontab": None
            if crontab is None
            else " ".join(
                [
                    crontab.minute,
                    crontab.hour,
                    crontab.day_of_month,
                    crontab.month_of_year,
                    crontab.day_of_week,
                ]
            ),
            "interval": None
            if task.interval is None
            else [task.interval.every, task.interval.period],
        }
    # The entries django_celery_beat's scheduler builds from the enabled rows.
    scheduled = {
        task.name: " ".join(repr(ModelEntry(task, app=app).schedule).split())
        for task in PeriodicTask.objects.filter(name__startswith="agentcore-task-", enabled=True)
    }
    print(
        json.dumps(
            {
                "step": label,
                "outcome": outcome,
                "tasks": tasks,
                "crontab_rows": CrontabSchedule.objects.count(),
                "scheduled": scheduled,
            }
        ),
        flush=True,
    )


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import override_settings

    from agentcore_task.beat import sync_beat_schedule_to_database
    from agentcore_task.runtime_config import update_runtime_config

    call_command("migrate", verbosity=0)
    snapshot("first", sync_beat_schedule_to_database())
    snapshot("again", sync_beat_schedule_to_database())
    update_runtime_config(cleanup_crontab="30 3 * * *")  # syncs when it commits
    snapshot("runtime override", None)
    with override_settings(AGENTCORE_TASK_CLEANUP_ENABLED=False):
        snapshot("disabled", sync_beat_schedule_to_database())
        snapshot("disabled again", sync_beat_schedule_to_database())
    update_runtime_config(cleanup_crontab=None)
    with override_settings(
        AGENTCORE_TASK_CLEANUP_CRONTAB="not a crontab",
        AGENTCORE_TASK_CLEANUP_BEAT_INTERVAL_HOURS=6,
    ):
        snapshot("unparsable", sync_beat_schedule_to_database())


if __name__ == "__main__":
    main()
