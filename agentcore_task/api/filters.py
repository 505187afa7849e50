"""The list's query parameters: HTTP strings in, checked filter values out.

The FilterSet only translates. Its fields parse each parameter with the same functions
``list_task_executions`` and ``get_task_stats`` use (``services/filters.py``), so a bad value
is a form error naming the parameter (a 400) worded as it is for Python callers; the rows
are then selected by the query layer (``TaskExecution.objects.matching``). The filter
classes are still the ones django-filter and drf-spectacular know, so the OpenAPI schema
describes each parameter with its type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.fields import MultipleChoiceField as FilterMultipleChoiceField

from agentcore_task.models import TaskExecution
from agentcore_task.services.filters import (
    ORDERING_FIELDS,
    ExecutionFilters,
    parse_date_or_datetime,
    parse_json,
    parse_ordering,
    parse_statuses,
    parse_text,
    parse_user_id,
)
from agentcore_task.status import TaskStatus


def _parsing(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Return a ``to_python`` that runs ``parse`` and turns its ValueError into a form error."""

    def to_python(value: Any) -> Any:
        if value in (None, "", [], ()):
            return None
        try:
            return parse(value)
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    return to_python


class ParsedField(forms.Field):
    """A form field whose value is parsed by one of ``services/filters.py``'s functions."""

    def to_python(self, value: Any) -> Any:
        return self.parse(value)

    def __init__(self, *, parse: Callable[[Any], Any], **kwargs: Any) -> None:
        self.parse = _parsing(parse)
        super().__init__(**kwargs)


class StatusesField(FilterMultipleChoiceField):
    """One or more statuses: repeated values, comma-separated ones, or a mix of both."""

    def to_python(self, value: Any) -> Any:
        return _parsing(parse_statuses)(value) or ()

    def validate(self, value: Any) -> None:
        """Checked by :func:`parse_statuses`, which also reads comma-separated values."""


class ParsedFilter(django_filters.Filter):
    """A parameter parsed into :class:`ExecutionFilters`; the FilterSet applies them all."""

    field_class = ParsedField

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        return qs


class StatusFilter(django_filters.MultipleChoiceFilter):
    """``status IN (…)``: any of the given statuses (OR)."""

    field_class = StatusesField

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        return qs


class OrderingFilter(django_filters.OrderingFilter):
    """``ordering``: created_at, started_at, finished_at or status, ``-`` for descending."""

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        return qs


def _json(shape: type | None) -> Callable[[Any], Any]:
    return lambda value: parse_json(value, shape)


class TaskExecutionFilter(django_filters.FilterSet):
    """The list filters, plus JSON containment and search."""

    module = ParsedFilter(parse=parse_text, help_text="Exact module, e.g. myapp.")
    task_name = ParsedFilter(parse=parse_text, help_text="Exact dotted task name.")
    task_id = ParsedFilter(parse=parse_text, help_text="Exact Celery task id.")
    status = StatusFilter(
        choices=TaskStatus.choices,
        help_text="One or more statuses (any of them): repeat the parameter "
        "(status=SUCCESS&status=FAILURE) or separate them by commas (status=SUCCESS,FAILURE).",
    )
    created_by = ParsedFilter(
        field_name="created_by_id", parse=parse_user_id, help_text="User id of the creator."
    )
    # field_name: the column each describes, for the OpenAPI schema (which reads its type).
    start_date = ParsedFilter(
        field_name="created_at",
        parse=parse_date_or_datetime,
        help_text="created_at >= this. A bare date starts at 00:00 in the server's TIME_ZONE.",
    )
    end_date = ParsedFilter(
        field_name="created_at",
        parse=parse_date_or_datetime,
        help_text="created_at <= this (inclusive). A bare date covers that whole day.",
    )
    search = ParsedFilter(
        field_name="task_name",
        parse=parse_text,
        help_text="Substring of the task name or task id (case-insensitive). Not indexed: on a "
        "large table combine it with module, task_name or a date range.",
    )
    metadata = ParsedFilter(
        parse=_json(dict),
        help_text='JSON object the metadata must contain, e.g. {"tenant": 42}.',
    )
    task_kwargs = ParsedFilter(
        parse=_json(dict),
        help_text='JSON object the keyword arguments must contain, e.g. {"feed": 7}.',
    )
    task_args = ParsedFilter(
        parse=_json(list),
        help_text="JSON array the positional arguments must contain, e.g. [7].",
    )
    result = ParsedFilter(
        parse=_json(None), help_text='JSON value the result must contain, e.g. {"ok": true}.'
    )
    ordering = OrderingFilter(
        fields=ORDERING_FIELDS,
        help_text="created_at, started_at, finished_at or status; '-' for descending. "
        "Ties are broken by id.",
    )

    class Meta:
        model = TaskExecution
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        data = self.form.cleaned_data
        filters = ExecutionFilters(
            module=data.get("module"),
            task_name=data.get("task_name"),
            task_id=data.get("task_id"),
            statuses=tuple(data.get("status") or ()),
            created_by_id=data.get("created_by"),
            search=data.get("search"),
            metadata=data.get("metadata"),
            task_kwargs=data.get("task_kwargs"),
            task_args=data.get("task_args"),
            result=data.get("result"),
            start_date=data.get("start_date"),
            end_date=data.get("end_date"),
            ordering=parse_ordering(data.get("ordering") or []),
        )
        return queryset.matching(filters).in_order(filters.ordering)  # type: ignore[attr-defined]
