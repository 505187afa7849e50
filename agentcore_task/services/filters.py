"""The one parser of the filters over executions: loose values in, typed values out.

:class:`~agentcore_task.querysets.ExecutionFilters` is what the query layer
(``TaskExecution.objects.matching``) takes: every field already checked and converted.
:func:`parse_filters` turns loose values into it (Python values or the strings the REST API
receives) and names every bad one, so ``list_task_executions``, ``get_task_stats`` and the
API's FilterSet (``api/filters.py``, whose fields call the ``parse_*`` functions below)
accept exactly the same input and explain a mistake the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.utils import timezone

from agentcore_task.exceptions import FilterError
from agentcore_task.querysets import ORDERING_FIELDS, ExecutionFilters
from agentcore_task.services import arguments
from agentcore_task.status import TaskStatus

__all__ = [
    "FILTER_NAMES",
    "MAX_JSON_DEPTH",
    "ORDERING_FIELDS",
    "ExecutionFilters",
    "parse_date_or_datetime",
    "parse_filters",
    "parse_json",
    "parse_ordering",
    "parse_statuses",
    "parse_text",
    "parse_user_id",
]

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_TRAILING_ZEROS = re.compile(r"\.0*$")
MAX_JSON_DEPTH = 100
"""JSON filters nested deeper are refused: no containment query needs more levels."""


FILTER_NAMES = (
    "module",
    "task_name",
    "task_id",
    "status",
    "created_by",
    "start_date",
    "end_date",
    "search",
    "metadata",
    "task_kwargs",
    "task_args",
    "result",
    "ordering",
)


def parse_filters(**values: Any) -> ExecutionFilters:
    """Check and convert the list's filters, given as Python values or as the API's strings.

    Names: ``module``, ``task_name``, ``task_id`` (exact), ``status`` (one status, a
    comma-separated string or a collection: any of them matches), ``created_by`` (a user, a
    user id or its digits),
    ``start_date`` / ``end_date`` (a date, a datetime or their ISO text; a bare date covers
    the whole day in TIME_ZONE, both ends inclusive), ``search``, ``metadata`` /
    ``task_kwargs`` (a JSON object), ``task_args`` (a JSON array), ``result`` (any JSON
    value; each as a Python value or JSON text) and ``ordering`` (keys of
    :data:`ORDERING_FIELDS`, ``-`` for descending, a comma string or a list). ``None`` and
    ``""`` mean "no filter".

    Raises:
        TypeError: an unknown filter name.
        FilterError: (a ValueError) invalid values; ``errors`` names each bad filter.
    """
    unknown = sorted(set(values) - set(FILTER_NAMES))
    if unknown:
        raise TypeError(f"unknown filter(s): {', '.join(unknown)}")
    errors: dict[str, list[str]] = {}
    parsed: dict[str, Any] = {}

    def take(name: str, parse: Any, *extra: Any) -> Any:
        value = values.get(name)
        if value is None or value == "":
            return None
        try:
            return parse(value, *extra)
        except ValueError as error:
            errors[name] = [str(error)]
            return None

    parsed["module"] = take("module", parse_text)
    parsed["task_name"] = take("task_name", parse_text)
    parsed["task_id"] = take("task_id", parse_text)
    parsed["statuses"] = take("status", parse_statuses) or ()
    parsed["created_by_id"] = take("created_by", parse_user_id)
    parsed["start_date"] = take("start_date", parse_date_or_datetime)
    parsed["end_date"] = take("end_date", parse_date_or_datetime)
    parsed["search"] = take("search", parse_text)
    parsed["metadata"] = take("metadata", parse_json, dict)
    parsed["task_kwargs"] = take("task_kwargs", parse_json, dict)
    parsed["task_args"] = take("task_args", parse_json, list)
    parsed["result"] = take("result", parse_json, None)
    parsed["ordering"] = take("ordering", parse_ordering) or ()
    if errors:
        raise FilterError(errors)
    return ExecutionFilters(**parsed)


def parse_text(value: object) -> str | None:
    """Return text PostgreSQL can compare, without surrounding spaces; blank is no filter."""
    text = str(value).strip()
    if "\x00" in text:
        raise ValueError("Enter text without NUL characters.")
    return text or None


def parse_statuses(value: object) -> tuple[str, ...]:
    """Return one or more statuses: a status, a comma-separated string, or a collection.

    Blank items are ignored and repeats dropped; an unknown status is an error naming it.
    """
    items = [value] if isinstance(value, str) else value
    if isinstance(items, bytes | Mapping) or not isinstance(items, Iterable):
        raise ValueError("Enter one or more statuses, repeated or separated by commas.")
    statuses: list[str] = []
    for item in list(items):
        for part in str(item).split(","):
            part = part.strip()
            if not part or part in statuses:
                continue
            if part not in TaskStatus.values:
                raise ValueError(
                    f"Select a valid choice. {part} is not one of the available choices "
                    f"({', '.join(TaskStatus.values)})."
                )
            statuses.append(part)
    return tuple(statuses)


def parse_user_id(value: object) -> int:
    """Return a user id from a user, an int, or a string of ASCII digits.

    Raises:
        ValueError: a string that is not a whole number, an anonymous user.
        TypeError: a value of another type (``created_by`` named).
    """
    if isinstance(value, str):
        # What a form's IntegerField takes (spaces, a sign, a trailing ".0"), in ASCII digits
        # only: int() would also read other scripts' digits ("٣", "²").
        text = _TRAILING_ZEROS.sub("", value.strip())
        if not _WHOLE_NUMBER.fullmatch(text):
            raise ValueError("Enter a whole number (a user id).")
        return int(text)
    user_id = arguments.user_id(value)  # a TypeError naming created_by for other types
    if user_id is None:
        raise ValueError("Enter a whole number (a user id).")
    return user_id


def parse_date_or_datetime(value: object) -> dt.date | dt.datetime:
    """Return a ``date`` for a bare date, an aware UTC ``datetime`` otherwise.

    A naive datetime is read in the project's TIME_ZONE. In UTC every accepted instant is one
    PostgreSQL takes: it refuses offsets beyond ±15:59, Python allows up to ±23:59.
    """
    if isinstance(value, dt.datetime):
        parsed: dt.date | dt.datetime = value
    elif isinstance(value, dt.date):
        return value
    else:
        text = str(value).strip()
        if "T" in text:
            text = text.replace(" ", "+", 1)  # a '+' of an offset decoded from a URL as ' '
        try:
            parsed = dt.datetime.fromisoformat(text) if "T" in text else dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(
                "Enter an ISO 8601 date (2026-11-28) or datetime (2026-11-28T14:30:00+01:00)."
            ) from None
    if not isinstance(parsed, dt.datetime):
        return parsed
    try:
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise ValueError("This date is out of range.") from None


def parse_json(value: object, shape: type | None) -> Any:
    """Return a JSON filter value, from JSON text or a Python value, of the given shape.

    Refused: invalid JSON, NaN/Infinity, NUL characters and lone surrogates (PostgreSQL's
    jsonb takes none of them), and nesting deeper than :data:`MAX_JSON_DEPTH`.
    """
    if isinstance(value, str):
        try:
            parsed = json.loads(value, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            message = getattr(error, "msg", "nested too deeply")
            raise ValueError(f"Enter valid JSON ({message}).") from None
    else:
        parsed = value
    problem = _json_problem(parsed)
    if problem:
        raise ValueError(problem)
    try:
        json.dumps(parsed, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, TypeError, RecursionError):
        raise ValueError("Enter JSON without NaN, Infinity or lone surrogates.") from None
    if shape is dict and not isinstance(parsed, dict):
        raise ValueError('Enter a JSON object, e.g. {"tenant": 42}.')
    if shape is list and not isinstance(parsed, list):
        raise ValueError("Enter a JSON array, e.g. [42].")
    return parsed


def _json_problem(value: Any) -> str | None:
    """Say what PostgreSQL or the encoder would choke on in a parsed JSON value, else None.

    A walk with an explicit stack, not recursion: a value nested a few hundred levels deep
    would otherwise end in RecursionError rather than an error naming the parameter.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "Enter JSON without NUL characters (\\u0000)."
            continue
        if not isinstance(item, list | dict):
            continue
        if depth >= MAX_JSON_DEPTH:
            return f"Enter JSON nested at most {MAX_JSON_DEPTH} levels."
        if isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        else:
            stack.extend((child, depth + 1) for child in item)
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_ordering(value: object) -> tuple[str, ...]:
    """Return ordering keys from a comma string or a list: :data:`ORDERING_FIELDS`, ``-``."""
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, bytes | Mapping) or not isinstance(items, Iterable):
        raise ValueError("Enter ordering keys separated by commas.")
    keys = []
    for item in items:
        key = str(item).strip()
        if not key:
            continue
        if key.removeprefix("-") not in ORDERING_FIELDS:
            raise ValueError(
                f"Select a valid choice. {key} is not one of the available choices "
                f"({', '.join(ORDERING_FIELDS)}, '-' for descending)."
            )
        keys.append(key)
    return tuple(keys)
