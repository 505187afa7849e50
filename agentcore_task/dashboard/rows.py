"""The rows a page starts from: what the user may see, and their creators' names when shown.

The username is a join; only the queries that display rows take it, so the counts and the
stats statement read the execution table alone.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import F, QuerySet

from agentcore_task.models import TaskExecution
from agentcore_task.querysets import TaskExecutionQuerySet


def visible(user: Any) -> TaskExecutionQuerySet:
    """Return the executions ``user`` may see: the API's rule (``visible_to``)."""
    return TaskExecution.objects.visible_to(user)


def with_usernames(rows: QuerySet[Any]) -> QuerySet[Any]:
    """Add ``created_by_username``, as the API's items have it."""
    username = get_user_model().USERNAME_FIELD
    return rows.annotate(created_by_username=F(f"created_by__{username}"))
