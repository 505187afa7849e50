"""Read executions with the API's filters, for host projects building their own views."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from agentcore_task.models import TaskExecution
from agentcore_task.services.filters import parse_filters


def list_task_executions(**filters: Any) -> QuerySet[TaskExecution]:
    """Return executions matching ``filters``, newest first (or as ``ordering`` says).

    Accepts the REST list's filters — ``module``, ``task_name``, ``status``, ``created_by``
    (a user or a user id), ``start_date``, ``end_date``, ``search``, ``metadata``,
    ``task_kwargs``, ``task_args``, ``result`` and ``ordering`` — as Python values or as the
    strings the API takes (see :func:`agentcore_task.services.filters.parse_filters`).
    ``status`` takes one status, a comma-separated string or a collection of them (any of
    them matches). ``None`` means "no filter". No user scoping is applied: that is the
    caller's decision (``TaskExecution.objects.visible_to(user)`` narrows to what a user
    may see).

    Raises:
        TypeError: an unknown filter name.
        FilterError: (a ValueError) an invalid value; the message names each bad filter.
    """
    parsed = parse_filters(**filters)
    return TaskExecution.objects.matching(parsed).in_order(parsed.ordering)
