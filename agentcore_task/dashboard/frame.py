"""What every page's frame needs, and the two refusal pages (404 and 403).

The frame shows the Locks and Actions links only to users whom those pages answer, so a
read-only user never sees a link that leads to a refusal.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from agentcore_task.dashboard import operate, present

TEMPLATES = "agentcore_task/dashboard/"
DETAIL_BASE = "agentcore_task_dashboard:executions"


def common(request: HttpRequest, page: str) -> dict[str, Any]:
    """Return the frame's context: the page name, the nav links, the empty live row."""
    return {
        "page": page,
        "blank_row": present.BLANK,
        "detail_base": reverse(DETAIL_BASE),
        "nav_locks": operate.may_see_locks(request.user),
        "nav_actions": operate.may_see_actions(request.user),
    }


def not_found(request: HttpRequest, pk: int) -> HttpResponse:
    """The 404 page of an execution the user may not see, whether it exists or not."""
    context = {**common(request, "execution"), "pk": pk}
    return render(request, TEMPLATES + "not_found.html", context, status=404)


def forbidden(request: HttpRequest, what: str) -> HttpResponse:
    """The 403 page: ``what`` needs a permission this user does not have."""
    context = {**common(request, ""), "what": what}
    return render(request, TEMPLATES + "forbidden.html", context, status=403)
