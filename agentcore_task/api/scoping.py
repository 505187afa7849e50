"""The list's scoping parameters: which executions ``my_tasks`` and ``created_by`` ask for.

A user sees their own executions. Seeing anyone else's — another user's, or rows without a
creator (system and periodic runs) — needs staff status or the model permission
``agentcore_task.view_all_taskexecution``. Asking for others' rows explicitly without it is a
403; a single row the user may not see is a 404, so its existence is not revealed.

The rules themselves (own rows, everything for staff and the view-all permission, nothing
for a user without a primary key) are the query layer's: ``TaskExecution.objects.owned_by``
and ``visible_to``. This module reads the HTTP parameters that choose between them.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from agentcore_task.querysets import VIEW_ALL_PERMISSION, TaskExecutionQuerySet, sees_everything

FALSE_WORDS = frozenset({"false", "0", "no", "off"})
# ASCII digits only: str.isdigit() is also true for "²" or "①", which int() refuses.
WHOLE_NUMBER = re.compile(r"[0-9]+")


def is_whole_number(value: str) -> bool:
    """Tell whether ``value`` (surrounding spaces allowed) is a run of ASCII digits."""
    return WHOLE_NUMBER.fullmatch(value.strip()) is not None


def scope_list(queryset: TaskExecutionQuerySet, request: Request) -> QuerySet[Any]:
    """Apply the list's ``my_tasks`` / ``created_by`` rules.

    ``created_by=<id>`` lists that user's rows; ``my_tasks=false`` lists everyone's; otherwise
    the list is the requesting user's own. Either of the first two for someone else requires
    :func:`sees_everything`, else PermissionDenied.
    """
    params = request.query_params
    return scope_rows(queryset, request.user, params.get("created_by"), params.get("my_tasks"))


def scope_rows(
    queryset: TaskExecutionQuerySet, user: Any, created_by: str | None, my_tasks: str | None
) -> QuerySet[Any]:
    """:func:`scope_list` on the two values themselves (the bulk endpoint's ``filter``)."""
    everyone = (my_tasks or "").strip().lower() in FALSE_WORDS
    if created_by is not None and is_whole_number(created_by):
        if (user.pk is None or int(created_by) != user.pk) and not sees_everything(user):
            raise PermissionDenied(
                "You may only list your own executions; listing another user's needs staff "
                f"status or the {VIEW_ALL_PERMISSION} permission."
            )
        return queryset  # the created_by filter itself narrows the rows
    if created_by is not None:
        return queryset.none()  # the filter answers 400 for the malformed id
    if everyone:
        if not sees_everything(user):
            raise PermissionDenied(
                "my_tasks=false lists every user's executions, which needs staff status or "
                f"the {VIEW_ALL_PERMISSION} permission."
            )
        return queryset
    return queryset.owned_by(user)
