"""Who may act: staff or ``agentcore_task.operate_taskexecution``; a 403 that names it.

Reading keeps the API's own rules (``AGENTCORE_TASK_API_PERMISSION_CLASSES`` and row
scoping). Acting — revoke, retry, bulk, force-releasing a lock — needs this on top; a row
the user may not see stays a 404, so acting never reveals one.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from agentcore_task.querysets import OPERATE_PERMISSION, can_operate

__all__ = ["OPERATE_PERMISSION", "OPERATE_REFUSED", "require_operate"]

OPERATE_REFUSED = (
    f"Acting on executions and locks needs staff status or the {OPERATE_PERMISSION} permission."
)


def require_operate(request: Request) -> Any:
    """Return the user if they may act, else raise the 403 that names the permission."""
    if not can_operate(request.user):
        raise PermissionDenied(OPERATE_REFUSED)
    return request.user
