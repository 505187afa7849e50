"""Write our Beat entries into django_celery_beat's tables (for its DatabaseScheduler).

Imported only after a check that django_celery_beat is installed (it is an optional
dependency), by :func:`agentcore_task.beat.sync_beat_schedule_to_database` and by
:mod:`agentcore_task.beat_scheduler`. Every write saves through the model, not a bulk update,
so that django_celery_beat's signals tell a running scheduler that the schedule changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery.schedules import crontab
from django.db import IntegrityError, transaction
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


_NO_OTHER_LINKS: dict[str, Any] = {"solar_id": None, "clocked_id": None}


def _schedule_fields(schedule: crontab | dt.timedelta) -> dict[str, Any]:
    """Return the PeriodicTask's four schedule links for ``schedule`` (one set, three None)."""
    if isinstance(schedule, crontab):
        return {"crontab_id": _crontab_row(schedule).pk, "interval_id": None, **_NO_OTHER_LINKS}
    return {"crontab_id": None, "interval_id": _interval_row(schedule).pk, **_NO_OTHER_LINKS}


def _save_changes(task: PeriodicTask, wanted: dict[str, Any]) -> str:
    """Set the fields of ``task`` that differ from ``wanted`` and save; say whether any did.

    An unchanged row is not saved, so that a running scheduler is not told to reload for
    nothing. Returns ``"updated"`` or ``"unchanged"``.
    """
    changed = {field: value for field, value in wanted.items() if getattr(task, field) != value}
    if not changed:
        return "unchanged"
    for field, value in changed.items():
        setattr(task, field, value)
    task.save()
    return "updated"


def create_periodic_task(name: str, entry: dict[str, Any]) -> PeriodicTask | None:
    """Create the PeriodicTask ``name`` from a Beat entry unless it exists; return it if created.

    An existing row is left exactly as it is: whatever an admin changed in it stays.
    """
    if PeriodicTask.objects.filter(name=name).exists():
        return None
    try:
        with transaction.atomic():
            return PeriodicTask.objects.create(
                name=name, task=entry["task"], enabled=True, **_schedule_fields(entry["schedule"])
            )
    except IntegrityError:  # another process created it in the meantime: theirs stays
        return None


def set_periodic_task_schedule(name: str, entry: dict[str, Any]) -> str:
    """Point the PeriodicTask ``name`` at the entry's schedule; create it when missing.

    Only the schedule changes: ``enabled``, the queue, the arguments and everything else an
    admin may have set are kept. Returns ``"created"``, ``"updated"`` or ``"unchanged"``.
    """
    with transaction.atomic():
        task = PeriodicTask.objects.select_for_update().filter(name=name).first()
        if task is None:
            create_periodic_task(name, entry)
            return "created"
        return _save_changes(task, _schedule_fields(entry["schedule"]))


def disable_periodic_task(name: str) -> bool:
    """Disable the PeriodicTask ``name`` if it exists and is enabled; tell whether it was."""
    with transaction.atomic():
        task = PeriodicTask.objects.select_for_update().filter(name=name, enabled=True).first()
        if task is None:
            return False
        task.enabled = False
        task.save()
        return True


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
        wanted: dict[str, Any] = {
            "task": entry["task"],
            "enabled": True,
            **_schedule_fields(entry["schedule"]),
        }
        if task is None:
            PeriodicTask.objects.create(name=name, **wanted)
            return "created"
        return _save_changes(task, wanted)
