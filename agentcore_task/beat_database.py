"""Write one Beat entry into django_celery_beat's tables (for its DatabaseScheduler).

Imported only by :func:`agentcore_task.beat.sync_beat_schedule_to_database`, after it has
checked that django_celery_beat is installed: it is an optional dependency.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery.schedules import crontab
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask


def _crontab_row(schedule: crontab) -> CrontabSchedule:
    """Return the CrontabSchedule of ``schedule``, reusing an identical row.

    django_celery_beat's own ``from_schedule`` (what its scheduler uses for entries it
    reads from ``beat_schedule``) maps the fields and the time zone.
    """
    row = CrontabSchedule.from_schedule(schedule)
    if row.pk is None:
        row.save()
    return row


def _interval_row(every: dt.timedelta) -> IntervalSchedule:
    """Return the IntervalSchedule of this period: in hours when whole hours, else minutes."""
    seconds = int(every.total_seconds())
    if seconds % 3600 == 0:
        spec: dict[str, Any] = {"every": seconds // 3600, "period": IntervalSchedule.HOURS}
    else:
        spec = {"every": max(seconds // 60, 1), "period": IntervalSchedule.MINUTES}
    row = IntervalSchedule.objects.filter(**spec).order_by("pk").first()
    return row or IntervalSchedule.objects.create(**spec)


def write_periodic_task(name: str, entry: dict[str, Any] | None) -> str:
    """Create, update or disable the PeriodicTask ``name``; say which (or ``"unchanged"``).

    ``entry`` is a Beat entry (``{"task": …, "schedule": crontab | timedelta}``), or None for
    a disabled job. Saving through the model (not a bulk update) lets django_celery_beat's
    signals tell a running scheduler that the schedule changed.
    """
    with transaction.atomic():
        task = PeriodicTask.objects.select_for_update().filter(name=name).first()
        if entry is None:
            if task is None:
                return "absent"
            if not task.enabled:
                return "unchanged"
            task.enabled = False
            task.save()
            return "disabled"
        schedule = entry["schedule"]
        wanted: dict[str, Any] = {
            "task": entry["task"],
            "enabled": True,
            "crontab_id": _crontab_row(schedule).pk if isinstance(schedule, crontab) else None,
            "interval_id": None if isinstance(schedule, crontab) else _interval_row(schedule).pk,
            "solar_id": None,
            "clocked_id": None,
        }
        if task is None:
            PeriodicTask.objects.create(name=name, **wanted)
            return "created"
        changed = {field: value for field, value in wanted.items() if getattr(task, field) != value}
        if not changed:
            return "unchanged"
        for field, value in changed.items():
            setattr(task, field, value)
        task.save()
        return "updated"
