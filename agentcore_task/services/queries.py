"""Read executions with the API's filters, for host projects building their own views."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from agentcore_task.filtering import TaskExecutionFilter
from agentcore_task.models import TaskExecution
from agentcore_task.services import arguments


def list_task_executions(**filters: Any) -> QuerySet[TaskExecution]:
    """Return executions matching ``filters``, newest first (or as ``ordering`` says).

    Accepts the REST list's filters — ``module``, ``task_name``, ``status``, ``created_by``
    (a user or a user id), ``start_date``, ``end_date``, ``search``, ``metadata``,
    ``task_kwargs``, ``task_args``, ``result`` and ``ordering`` — as Python values or as the
    strings the API takes. ``status`` takes one status, a comma-separated string or a
    collection of them (any of them matches). ``None`` means "no filter". No user scoping is
    applied: that is the caller's decision.

    Raises:
        TypeError: an unknown filter name.
        ValueError: an invalid value; the message names each bad filter.
    """
    unknown = sorted(set(filters) - set(TaskExecutionFilter.base_filters))
    if unknown:
        raise TypeError(f"unknown filter(s): {', '.join(unknown)}")
    data = {name: value for name, value in filters.items() if value is not None}
    if "created_by" in data:
        data["created_by"] = arguments.user_id(data["created_by"])
    if isinstance(data.get("ordering"), list | tuple):
        data["ordering"] = ",".join(data["ordering"])
    filterset = TaskExecutionFilter(data=data, queryset=TaskExecution.objects.all())
    if not filterset.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(str(message) for message in messages)}"
            for name, messages in filterset.errors.items()
        )
        raise ValueError(f"invalid filter(s): {problems}")
    return filterset.qs
