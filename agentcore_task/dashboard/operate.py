"""The operator's side of the pages: who may act, and which actions a row offers.

Acting (revoke, terminate, retry, bulk, releasing locks) needs staff status or the permission
``agentcore_task.operate_taskexecution`` (:func:`~agentcore_task.querysets.can_operate`, the
API's rule). The pages offer a button only to such users, and only for what the row's state
allows: revoke and terminate while it is unfinished, retry once it has finished. The views
that receive the posts check the permission again (:mod:`agentcore_task.dashboard.acting`).
"""

from __future__ import annotations

from typing import Any

from agentcore_task.models import UNFINISHED_STATUSES
from agentcore_task.querysets import OPERATE_PERMISSION, can_operate, sees_everything

__all__ = ["OPERATE_PERMISSION", "may_operate", "may_see_actions", "may_see_locks", "offered"]

AUDIT_VIEW_PERMISSION = "agentcore_task.view_taskaction"
_UNFINISHED = frozenset(str(status) for status in UNFINISHED_STATUSES)


def may_operate(user: Any) -> bool:
    """Return True for active staff and holders of :data:`OPERATE_PERMISSION`."""
    return can_operate(user)


def may_see_locks(user: Any) -> bool:
    """Return True for whom ``GET locks/`` answers: staff, view-all or operate holders."""
    return sees_everything(user) or can_operate(user)


def may_see_actions(user: Any) -> bool:
    """Return True for whom ``GET actions/`` answers: staff or ``view_taskaction`` holders."""
    return bool(getattr(user, "is_staff", False) or user.has_perm(AUDIT_VIEW_PERMISSION))


def offered(user: Any, status: str) -> list[str]:
    """Return the actions the page offers ``user`` on a row in ``status`` (none if read-only)."""
    if not may_operate(user):
        return []
    return ["revoke", "terminate"] if status in _UNFINISHED else ["retry"]
