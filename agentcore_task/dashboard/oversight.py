"""The Locks and Actions pages: the held locks (with a release button for operators) and
the audit trail, answered to exactly the users the API's ``locks/`` and ``actions/`` answer.

Locks: staff, ``view_all_taskexecution`` or operate holders (lock names can carry business
context). Actions: staff or ``agentcore_task.view_taskaction`` holders. Anyone else gets the
403 page. The trail is paged by id (newest first), so an old page costs what the first does.
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from agentcore_task.dashboard import frame, operate, present
from agentcore_task.models import TaskAction
from agentcore_task.services.locks import list_locks

ACTIONS_PAGE = 50
KNOWN_ACTIONS = ("revoke", "retry", "bulk_revoke", "bulk_retry", "lock_release", "config_change")
"""What the services record (``record_action``), offered as the page's filter."""


@require_safe
@login_required
@ensure_csrf_cookie  # the release buttons post with the token
def locks_page(request: HttpRequest) -> HttpResponse:
    """Every lock held now on both backends, and the backends that could not be asked."""
    if not operate.may_see_locks(request.user):
        return frame.forbidden(request, "Seeing the held locks")
    listing = list_locks()
    now = timezone.now()
    locks = [
        {
            **lock,
            "since_moment": present.moment(lock["since"], now),
            "ttl_text": present.duration_text(lock["ttl"]) if lock["ttl"] is not None else "—",
        }
        for lock in sorted(listing["locks"], key=lambda lock: (lock["name"], lock["backend"]))
    ]
    context = {
        **frame.common(request, "locks"),
        "locks": locks,
        "unavailable": sorted(listing["unavailable"].items()),
        "may_release": operate.may_operate(request.user),
    }
    return render(request, frame.TEMPLATES + "locks.html", context)


@require_safe
@login_required
def actions_page(request: HttpRequest) -> HttpResponse:
    """The audit trail, newest first: who did what, from where, to what, with what counts."""
    if not operate.may_see_actions(request.user):
        return frame.forbidden(request, "Reading the audit trail")
    trail = TaskAction.objects.order_by("-id")
    before = request.GET.get("before", "")
    if before.isdigit():
        trail = trail.filter(id__lt=int(before))
    chosen = request.GET.get("action", "").strip()
    if chosen:
        trail = trail.filter(action=chosen)
    items = list(trail[: ACTIONS_PAGE + 1])
    older = items[ACTIONS_PAGE - 1].pk if len(items) > ACTIONS_PAGE else None
    now = timezone.now()
    context = {
        **frame.common(request, "actions"),
        "chosen": chosen,
        "known_actions": KNOWN_ACTIONS,
        "actions": [
            {
                "row": item,
                "when": present.moment(item.created_at, now),
                "target": json.dumps(item.target, ensure_ascii=False, sort_keys=True),
                "counts": ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in item.counts.items()),
                "executions": _execution_ids(item.target),
            }
            for item in items[:ACTIONS_PAGE]
        ],
        "older": older,
    }
    return render(request, frame.TEMPLATES + "actions.html", context)


def _execution_ids(target: object) -> list[int]:
    """Return the execution ids an audit row names (the first few), for links."""
    if not isinstance(target, dict):
        return []
    ids = [*target.get("executions", []), *target.get("new_executions", [])]
    return [pk for pk in ids if isinstance(pk, int)][:10]
