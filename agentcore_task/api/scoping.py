"""Who may see which executions (DESIGN §4).

A user sees their own executions. Seeing anyone else's — another user's, or rows without a
creator (system and periodic runs) — needs staff status or the model permission
``agentcore_task.view_all_taskexecution``. Asking for others' rows explicitly without it is a
403; a single row the user may not see is a 404, so its existence is not revealed.

A user without a primary key (``AnonymousUser``, when the permission classes admit anonymous
requests) owns nothing: "own rows" is never ``created_by IS NULL``, which would hand out every
system row, periodic run and row of a deleted user.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

VIEW_ALL_PERMISSION = "agentcore_task.view_all_taskexecution"
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
# ASCII digits only: str.isdigit() is also true for "²" or "①", which int() refuses.
WHOLE_NUMBER = re.compile(r"[0-9]+")


def is_whole_number(value: str) -> bool:
    """Tell whether ``value`` (surrounding spaces allowed) is a run of ASCII digits."""
    return WHOLE_NUMBER.fullmatch(value.strip()) is not None


def sees_everything(user: Any) -> bool:
    """Return True for staff and holders of ``agentcore_task.view_all_taskexecution``."""
    return bool(user.is_staff or user.has_perm(VIEW_ALL_PERMISSION))


def own_rows(queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
    """Restrict ``queryset`` to the rows ``user`` created; none for a user without an id.

    ``filter(created_by_id=None)`` compiles to ``IS NULL``: an anonymous user would own every
    row without a creator. Every place that scopes rows to "mine" goes through here.
    """
    pk = getattr(user, "pk", None)
    if pk is None or getattr(user, "is_anonymous", False) is True:
        return queryset.none()
    return queryset.filter(created_by_id=pk)


def visible_rows(queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
    """Restrict ``queryset`` to the rows ``user`` may open one by one."""
    if sees_everything(user):
        return queryset
    return own_rows(queryset, user)


def scope_list(queryset: QuerySet[Any], request: Request) -> QuerySet[Any]:
    """Apply the list's ``my_tasks`` / ``created_by`` rules.

    ``created_by=<id>`` lists that user's rows; ``my_tasks=false`` lists everyone's; otherwise
    the list is the requesting user's own. Either of the first two for someone else requires
    :func:`sees_everything`, else PermissionDenied.
    """
    user = request.user
    created_by = request.query_params.get("created_by")
    everyone = request.query_params.get("my_tasks", "").strip().lower() in FALSE_WORDS
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
    return own_rows(queryset, user)
