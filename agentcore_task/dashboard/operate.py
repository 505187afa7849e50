"""The operator's side of the pages: who may act, and where the actions are posted.

Acting (revoke, terminate, retry, releasing locks) needs staff status or the permission
``agentcore_task.operate_taskexecution``, as the API that performs it checks again. A button
is offered only when the API also serves that action (its URL resolves), so the pages show
the buttons on the day the operate endpoints are mounted, and never a button that fails.
"""

from __future__ import annotations

from typing import Any

from django.urls import NoReverseMatch, reverse

OPERATE_PERMISSION = "agentcore_task.operate_taskexecution"
ACTIONS = ("revoke", "terminate", "retry")


def may_operate(user: Any) -> bool:
    """Return True for staff and holders of :data:`OPERATE_PERMISSION`."""
    return bool(getattr(user, "is_staff", False) or user.has_perm(OPERATE_PERMISSION))


def action_urls(user: Any, pk: int) -> dict[str, str]:
    """Return ``{action: URL}`` of the actions the user may post for one execution.

    Empty for a read-only user, and for each action the API does not serve.
    """
    if not may_operate(user):
        return {}
    urls: dict[str, str] = {}
    for action in ACTIONS:
        try:
            urls[action] = reverse(f"agentcore_task:execution-{action}", kwargs={"pk": pk})
        except NoReverseMatch:
            continue
    return urls
