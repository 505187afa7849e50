"""The runtime configuration's fields: their settings, their bounds, and their validation.

Validation is kept apart from the store so that the API's serializer and the store check a
value the same way; the crontab rules themselves live in :mod:`agentcore_task.crontab`, which
Beat's entries are built with too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Literal

from agentcore_task import conf, crontab
from agentcore_task.exceptions import RuntimeConfigError
from agentcore_task.models import (
    RETENTION_DAYS_LIMITS,
    TIMEOUT_MINUTES_LIMITS,
    TaskRuntimeConfig,
)
from agentcore_task.validation import checked_int

__all__ = [
    "CRONTAB_FIELDS",
    "CRONTAB_MAX_LENGTH",
    "FIELDS",
    "Source",
    "Value",
    "validate_crontab",
    "validated",
]

Source = Literal["database", "settings", "default"]
Value = int | str


@dataclasses.dataclass(frozen=True)
class Field:
    setting: str
    fallback: Callable[[], Value]  # the conf reader: the setting, else its default
    limits: tuple[int, int] | None  # None: a crontab


FIELD_SPECS: dict[str, Field] = {
    "retention_days": Field(
        "AGENTCORE_TASK_RETENTION_DAYS", conf.retention_days, RETENTION_DAYS_LIMITS
    ),
    "timeout_minutes": Field(
        "AGENTCORE_TASK_TIMEOUT_MINUTES", conf.timeout_minutes, TIMEOUT_MINUTES_LIMITS
    ),
    "cleanup_crontab": Field("AGENTCORE_TASK_CLEANUP_CRONTAB", conf.cleanup_crontab, None),
    "mark_timeout_crontab": Field(
        "AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB", conf.mark_timeout_crontab, None
    ),
}
FIELDS: tuple[str, ...] = tuple(FIELD_SPECS)
CRONTAB_FIELDS = frozenset(name for name, field in FIELD_SPECS.items() if field.limits is None)
CRONTAB_MAX_LENGTH = (
    TaskRuntimeConfig._meta.get_field("cleanup_crontab").max_length or crontab.DEFAULT_MAX_LENGTH
)


def validate_crontab(text: object) -> str:
    """Return ``text`` as a 5-field crontab Celery accepts, fields joined by single spaces.

    :func:`agentcore_task.crontab.validate_crontab`, bounded by the stored column's length.

    Raises:
        ValueError: not a string, not five fields, or a field Celery's ``crontab`` refuses
            (minute hour day-of-month month day-of-week, e.g. ``"0 2 * * *"``).
    """
    return crontab.validate_crontab(text, max_length=CRONTAB_MAX_LENGTH)


def _validate_number(value: object, limits: tuple[int, int]) -> int:
    """Check a bounded number; the message says what to enter, as the API shows it per field."""
    low, high = limits
    try:
        return checked_int("value", value, minimum=low, maximum=high, not_int=ValueError)
    except ValueError:
        raise ValueError(f"Enter a whole number from {low} to {high}, not {value!r}.") from None


def validated(changes: Mapping[str, object]) -> dict[str, Value | None]:
    """Check every change and return them cleaned, or raise once naming every bad field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Value | None] = {}
    for name, value in changes.items():
        field = FIELD_SPECS.get(name)
        if field is None:
            errors[name] = [f"Unknown field; the fields are {', '.join(FIELDS)}."]
            continue
        if value is None:
            cleaned[name] = None
            continue
        try:
            if field.limits is None:
                cleaned[name] = validate_crontab(value)
            else:
                cleaned[name] = _validate_number(value, field.limits)
        except ValueError as error:
            errors[name] = [str(error)]
    if errors:
        raise RuntimeConfigError(errors)
    return cleaned
