"""The time window of a stats series, computed in Python exactly as ``sql/stats.sql`` does.

Buckets are local calendar units of the current time zone (days, ISO weeks from Monday,
months) or real hours. Knowing their number before the query is what lets a too-wide window
be refused with a 400 instead of a million-row ``generate_series``.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

HOUR = dt.timedelta(hours=1)


def first_instant(value: dt.date | dt.datetime) -> dt.datetime:
    """Return the instant a ``start_date`` begins at: a bare date is local midnight.

    Raises:
        OverflowError: the instant cannot be represented.
    """
    if isinstance(value, dt.datetime):
        return value
    return timezone.make_aware(dt.datetime.combine(value, dt.time.min))


def _local(instant: dt.datetime) -> dt.datetime:
    """Return the wall-clock time of ``instant`` in the current time zone, without a zone."""
    return timezone.localtime(instant).replace(tzinfo=None)


def _truncate_local(unit: str, wall: dt.datetime) -> dt.datetime:
    midnight = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return midnight
    if unit == "week":
        return midnight - dt.timedelta(days=midnight.weekday())
    return midnight.replace(day=1)


def _truncate_hour(instant: dt.datetime) -> dt.datetime:
    """Return the start of the local hour holding ``instant`` (an hour is real, not wall)."""
    local = timezone.localtime(instant)
    return local.replace(minute=0, second=0, microsecond=0).astimezone(dt.UTC)


def bucket_count(unit: str, start: dt.datetime, end: dt.datetime) -> int:
    """Return how many buckets of ``unit`` the window from ``start`` to ``end`` has."""
    if end < start:
        return 0
    if unit == "hour":
        return (end - _truncate_hour(start)) // HOUR + 1
    first, last = _truncate_local(unit, _local(start)), _local(end)
    days = (last.date() - first.date()).days
    if unit == "day":
        return days + 1
    if unit == "week":
        return days // 7 + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1


def default_start(unit: str, end: dt.datetime, buckets: int) -> dt.datetime:
    """Return the start of the window of ``buckets`` buckets whose last one holds ``end``.

    Raises:
        OverflowError: the start would be before year 1.
    """
    if unit == "hour":
        return _truncate_hour(end) - (buckets - 1) * HOUR
    last = _truncate_local(unit, _local(end))
    if unit == "day":
        first = last - dt.timedelta(days=buckets - 1)
    elif unit == "week":
        first = last - dt.timedelta(weeks=buckets - 1)
    else:
        months = last.year * 12 + last.month - 1 - (buckets - 1)
        if months < 12:
            raise OverflowError("before year 1")
        first = last.replace(year=months // 12, month=months % 12 + 1)
    return timezone.make_aware(first)


def last_instant(value: dt.date | dt.datetime) -> dt.datetime:
    """Return the last instant an ``end_date`` includes: a bare date up to its last µs.

    Raises:
        OverflowError: the instant cannot be represented.
    """
    if isinstance(value, dt.datetime):
        return value
    return first_instant(value + dt.timedelta(days=1)) - dt.timedelta(microseconds=1)
