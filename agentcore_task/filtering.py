"""Filters over executions, shared by the REST API and ``list_task_executions``.

Each filter becomes SQL an index can serve: equality on module / task_name / status /
created_by (btree), ranges on created_at (btree), containment on the jsonb columns
(``@>``, GIN with ``jsonb_path_ops``). Invalid values are form errors that name the parameter,
which the API turns into a 400.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters.fields import MultipleChoiceField as FilterMultipleChoiceField

from agentcore_task.models import TaskExecution
from agentcore_task.status import TaskStatus

ORDERING_FIELDS = ("created_at", "started_at", "finished_at", "status")


class DateOrDateTimeField(forms.Field):
    """Parse an ISO date or an ISO datetime (with or without offset).

    Returns a ``date`` for a bare date, an aware ``datetime`` otherwise (a naive one is read in
    the project's TIME_ZONE), so the filter can tell "the whole day" from "this instant".
    """

    default_error_messages = {
        "invalid": "Enter an ISO 8601 date (2026-11-28) or datetime (2026-11-28T14:30:00+01:00)."
    }

    def to_python(self, value: Any) -> dt.date | dt.datetime | None:
        if value in (None, ""):
            return None
        if isinstance(value, dt.datetime):
            parsed: dt.date | dt.datetime = value
        elif isinstance(value, dt.date):
            return value
        else:
            text = str(value).strip().replace(" ", "+", 1) if "T" in str(value) else str(value)
            try:
                parsed = (
                    dt.datetime.fromisoformat(text) if "T" in text else dt.date.fromisoformat(text)
                )
            except ValueError:
                raise forms.ValidationError(
                    self.error_messages["invalid"], code="invalid"
                ) from None
        if not isinstance(parsed, dt.datetime):
            return parsed
        try:
            if timezone.is_naive(parsed):
                parsed = timezone.make_aware(parsed)
            # PostgreSQL accepts offsets up to ±15:59 only; Python up to ±23:59. In UTC the
            # instant is the same and always acceptable.
            return parsed.astimezone(dt.UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("This date is out of range.", code="range") from None


def _day_start(day: dt.date) -> dt.datetime:
    """Return the first instant of ``day`` in the project's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class DateBoundFilter(django_filters.Filter):
    """``created_at`` bound: a bare date covers the whole day in TIME_ZONE; both ends inclusive."""

    field_class = DateOrDateTimeField

    def __init__(self, *, upper: bool, **kwargs: Any) -> None:
        self.upper = upper
        super().__init__(field_name="created_at", **kwargs)

    def filter(self, qs: QuerySet[Any], value: dt.date | dt.datetime | None) -> QuerySet[Any]:
        if value is None:
            return qs
        if isinstance(value, dt.datetime):
            lookup = "lte" if self.upper else "gte"
            return qs.filter(**{f"created_at__{lookup}": value})
        try:
            if self.upper:
                return qs.filter(created_at__lt=_day_start(value + dt.timedelta(days=1)))
            return qs.filter(created_at__gte=_day_start(value))
        except OverflowError:  # the first or last representable day: no bound on that side
            return qs


class JSONValueField(forms.Field):
    """Parse a JSON document from a query parameter, optionally requiring its shape."""

    def __init__(self, *, shape: type | None = None, **kwargs: Any) -> None:
        self.shape = shape
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            parsed = value
        else:
            try:
                parsed = json.loads(value, parse_constant=_refuse_constant)
            except (ValueError, RecursionError) as error:
                message = getattr(error, "msg", "nested too deeply")
                raise forms.ValidationError(f"Enter valid JSON ({message}).") from None
        problem = _json_problem(parsed)
        if problem:
            raise forms.ValidationError(problem)
        try:
            json.dumps(parsed, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (ValueError, TypeError, RecursionError):
            raise forms.ValidationError(
                "Enter JSON without NaN, Infinity or lone surrogates."
            ) from None
        if self.shape is dict and not isinstance(parsed, dict):
            raise forms.ValidationError('Enter a JSON object, e.g. {"tenant": 42}.')
        if self.shape is list and not isinstance(parsed, list):
            raise forms.ValidationError("Enter a JSON array, e.g. [42].")
        return parsed


MAX_JSON_DEPTH = 100


def _json_problem(value: Any) -> str | None:
    """Say what PostgreSQL or the encoder would choke on in a parsed JSON value, else None.

    A walk with an explicit stack, not recursion: a filter nested a few hundred levels deep
    would otherwise end in RecursionError (a 500) rather than a 400 naming the parameter. No
    containment query needs more than :data:`MAX_JSON_DEPTH` levels.
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


class NulFreeCharField(forms.CharField):
    """Text PostgreSQL can compare: it has no NUL character."""

    def to_python(self, value: Any) -> str:
        text = str(super().to_python(value) or "")
        if "\x00" in text:
            raise forms.ValidationError("Enter text without NUL characters.")
        return text


class StatusesField(FilterMultipleChoiceField):
    """One or more statuses: repeated values, comma-separated ones, or a mix of both.

    ``?status=SUCCESS&status=FAILURE``, ``?status=SUCCESS,FAILURE`` and, from Python,
    ``"SUCCESS,FAILURE"`` or ``["SUCCESS", "FAILURE"]`` all mean the same thing, so that a
    client never has to know which spelling a server expects. Blank items are ignored;
    nothing but blanks is no filter. An unknown status is an error naming it.
    """

    def to_python(self, value: Any) -> list[str]:
        if value in (None, ""):
            return []
        items = [value] if isinstance(value, str) else value
        if isinstance(items, bytes | Mapping) or not isinstance(items, Iterable):
            raise forms.ValidationError(
                "Enter one or more statuses, repeated or separated by commas.", code="invalid_list"
            )
        statuses: list[str] = []
        for item in list(items):
            for part in str(item).split(","):
                part = part.strip()
                if part and part not in statuses:
                    statuses.append(part)
        return statuses


class StatusFilter(django_filters.MultipleChoiceFilter):
    """``status IN (…)``: any of the given statuses (OR), one btree lookup."""

    field_class = StatusesField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("distinct", False)  # one table, no join: DISTINCT would only cost
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet[Any], value: list[str]) -> QuerySet[Any]:
        if not value:
            return qs
        return qs.filter(status__in=value)


class TextFilter(django_filters.CharFilter):
    field_class = NulFreeCharField


class JSONContainsFilter(django_filters.Filter):
    """``column @> value``: rows whose JSON contains the given document (GIN-indexed)."""

    field_class = JSONValueField

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if value is None:
            return qs
        return qs.filter(**{f"{self.field_name}__contains": value})


class UserIdField(forms.IntegerField):
    """A user id in ASCII digits: ``int()`` also reads other scripts' digits (``"٣"``)."""

    default_error_messages = {"invalid": "Enter a whole number (a user id)."}

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str) and value.strip() and not value.strip().lstrip("-").isascii():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class UserIdFilter(django_filters.NumberFilter):
    """Equality on the creator's id; an integer, unlike NumberFilter's decimal."""

    field_class = UserIdField


class TaskExecutionFilter(django_filters.FilterSet):
    """The list filters of the contract, plus JSON containment and search."""

    module = TextFilter(help_text="Exact module, e.g. myapp.")
    task_name = TextFilter(help_text="Exact dotted task name.")
    status = StatusFilter(
        choices=TaskStatus.choices,
        help_text="One or more statuses (any of them): repeat the parameter "
        "(status=SUCCESS&status=FAILURE) or separate them by commas (status=SUCCESS,FAILURE).",
    )
    created_by = UserIdFilter(field_name="created_by_id", help_text="User id of the creator.")
    start_date = DateBoundFilter(
        upper=False,
        help_text="created_at >= this. A bare date starts at 00:00 in the server's TIME_ZONE.",
    )
    end_date = DateBoundFilter(
        upper=True,
        help_text="created_at <= this (inclusive). A bare date covers that whole day.",
    )
    search = TextFilter(
        method="filter_search",
        help_text="Substring of the task name or task id (case-insensitive). Not indexed: on a "
        "large table combine it with module, task_name or a date range.",
    )
    metadata = JSONContainsFilter(
        field_name="metadata",
        shape=dict,
        help_text='JSON object the metadata must contain, e.g. {"tenant": 42}.',
    )
    task_kwargs = JSONContainsFilter(
        field_name="task_kwargs",
        shape=dict,
        help_text='JSON object the keyword arguments must contain, e.g. {"feed": 7}.',
    )
    task_args = JSONContainsFilter(
        field_name="task_args",
        shape=list,
        help_text="JSON array the positional arguments must contain, e.g. [7].",
    )
    result = JSONContainsFilter(
        field_name="result", help_text='JSON value the result must contain, e.g. {"ok": true}.'
    )
    ordering = django_filters.OrderingFilter(
        fields=ORDERING_FIELDS,
        help_text="created_at, started_at, finished_at or status; '-' for descending. "
        "Ties are broken by id.",
    )

    class Meta:
        model = TaskExecution
        fields: list[str] = []

    def filter_search(self, qs: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return qs.filter(Q(task_name__icontains=value) | Q(task_id__icontains=value))

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = super().filter_queryset(queryset)
        ordering = [key for key in self.form.cleaned_data.get("ordering") or [] if key]
        ordering = ordering or ["-created_at"]
        # ``id`` breaks ties in the direction of the first key, so pages never overlap.
        tie_breaker = "-id" if ordering[0].startswith("-") else "id"
        return queryset.order_by(*ordering, tie_breaker)
