"""Crontab text: parse it into Celery's schedule, and check what an operator typed.

The one place a 5-field crontab (minute hour day-of-month month day-of-week) is read, so that
what the runtime configuration accepts is exactly what Beat's entries can be built from. Pure:
no Django, no database, only Celery's ``crontab`` class, which is the judge of a field.
"""

from __future__ import annotations

from celery.schedules import crontab

__all__ = ["DEFAULT_MAX_LENGTH", "parse_crontab", "validate_crontab"]

# The length of the columns that store a crontab override (TaskRuntimeConfig).
DEFAULT_MAX_LENGTH = 100


def parse_crontab(text: str) -> crontab:
    """Return Celery's ``crontab`` for a 5-field string (minute hour day month weekday).

    Raises:
        ValueError: not five fields, or a field Celery refuses.
    """
    fields = text.split() if isinstance(text, str) else []
    if len(fields) != 5:
        raise ValueError(f"{text!r} is not a 5-field crontab (minute hour day month weekday)")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        return crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
        )
    except (ValueError, TypeError, IndexError, KeyError, OverflowError) as error:
        raise ValueError(f"{text!r} is not a crontab Celery accepts: {error}") from None


def validate_crontab(text: object, *, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """Return ``text`` as a 5-field crontab Celery accepts, fields joined by single spaces.

    The messages are written for the operator who typed the value (the API shows them per
    field), which is why they say what to enter rather than what went wrong inside Celery.

    Raises:
        ValueError: not a string, not five fields, longer than ``max_length`` or not ASCII,
            or a field Celery's ``crontab`` refuses (e.g. ``"0 2 * * *"`` is fine).
    """
    if not isinstance(text, str):
        raise ValueError(f"Enter a crontab string such as '0 2 * * *', not {type(text).__name__}.")
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            "Enter five fields: minute hour day-of-month month day-of-week, e.g. '0 2 * * *'."
        )
    normalized = " ".join(fields)
    if len(normalized) > max_length or not normalized.isascii():
        raise ValueError(f"Enter at most {max_length} ASCII characters.")
    try:
        parse_crontab(normalized)  # the same parsing Beat's entries get
    except ValueError:
        raise ValueError(f"Celery does not accept the crontab {normalized!r}.") from None
    return normalized
