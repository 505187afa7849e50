"""The operator's posts: revoke, terminate, retry, bulk, releasing a lock. Form in, verb out.

Each view is POST only, CSRF-protected whatever the host's middleware, signed in, and for
operators only (:func:`~agentcore_task.dashboard.operate.may_operate`; anyone else gets the
403 page, whatever they post). It calls the operate services directly, with
``source="dashboard"`` so the audit trail says where the action came from, and redirects
back to the page it came from with a message saying what happened. A row the user may not
see is the 404 page, exactly as on the reading pages.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from agentcore_task import conf
from agentcore_task.dashboard import frame, operate, rows
from agentcore_task.dashboard.table import query_string, read_query
from agentcore_task.exceptions import ExecutionStateError
from agentcore_task.locks.api import BACKEND_NAMES
from agentcore_task.locks.base import LockBackendError
from agentcore_task.services.locks import release_lock
from agentcore_task.services.operate import ACTIONS, bulk_operate, retry_execution, revoke_execution

SOURCE = "dashboard"
REASON_LIMIT = 1000
View = Callable[..., HttpResponse]


def operators_only(view: View) -> View:
    """Answer the 403 page to anyone who may not operate, before the view reads anything."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not operate.may_operate(request.user):
            return frame.forbidden(request, "Acting on executions and locks")
        return view(request, *args, **kwargs)

    return guarded


def operator_post(view: View) -> View:
    """POST only, CSRF checked, signed in, operators only: every view of this module."""
    return require_POST(csrf_protect(login_required(operators_only(view))))


def _reason(request: HttpRequest) -> str | None:
    return request.POST.get("reason", "").strip()[:REASON_LIMIT] or None


def _say(request: HttpRequest, level: int, text: str) -> None:
    messages.add_message(request, level, text, fail_silently=True)


def _detail(pk: int) -> str:
    return reverse("agentcore_task_dashboard:execution", kwargs={"pk": pk})


@operator_post
def revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one execution; ``terminate=1`` also kills it if a worker is running it."""
    row = rows.visible(request.user).filter(pk=pk).first()
    if row is None:
        return frame.not_found(request, pk)
    terminate = request.POST.get("terminate") == "1"
    try:
        revoke_execution(
            row, terminate=terminate, actor=request.user, reason=_reason(request), source=SOURCE
        )
    except ExecutionStateError as error:
        _say(request, messages.ERROR, str(error))
    else:
        done = "terminated" if terminate else "revoked"
        _say(request, messages.SUCCESS, f"Execution #{pk} {done}: it is REVOKED.")
    return redirect(_detail(pk))


@operator_post
def retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Run a finished execution again as a new row linked to this one."""
    row = rows.visible(request.user).filter(pk=pk).first()
    if row is None:
        return frame.not_found(request, pk)
    try:
        new = retry_execution(row, actor=request.user, reason=_reason(request), source=SOURCE)
    except ExecutionStateError as error:
        _say(request, messages.ERROR, str(error))
    else:
        _say(request, messages.SUCCESS, f"Execution #{pk} retried as execution #{new.pk}.")
    return redirect(_detail(pk))


def _bulk_scope(request: HttpRequest) -> tuple[Any, dict[str, Any]]:
    """Return the rows a bulk post may touch and what it names: the list's own scope."""
    asked = read_query(QueryDict(request.POST.get("filters", "")))
    visible = rows.visible(request.user)
    if asked.mine:
        visible = visible.owned_by(request.user)
    if request.POST.get("scope") == "matching":
        if asked.errors:
            return None, {"errors": asked.errors}
        return visible, {"filters": asked.filters, "query": query_string(asked.values, asked.mine)}
    ids = sorted({int(pk) for pk in request.POST.getlist("ids") if pk.isdigit() and int(pk) > 0})
    return visible, {"ids": ids, "query": query_string(asked.values, asked.mine)}


def _outcome(result: dict[str, Any]) -> str:
    counts = ", ".join(f"{name.replace('_', ' ')}: {n}" for name, n in result["counts"].items())
    text = f"{result['action'].capitalize()}: {result['matched']} matched, {counts}."
    if result["truncated"]:
        text += f" Stopped at the limit of {result['limit']}; run it again for the rest."
    return text


@operator_post
def bulk_view(request: HttpRequest) -> HttpResponse:
    """Revoke or retry the selected rows or all that match the filter: first the dry run's
    count on a confirmation page, then (``confirm=1``) the real run, and back to the table."""
    action = request.POST.get("action", "")
    scope, picked = _bulk_scope(request)
    back = reverse("agentcore_task_dashboard:executions")
    if action not in ACTIONS or scope is None or picked.get("ids") == []:
        why = (
            f"Choose an action: {', '.join(ACTIONS)}."
            if action not in ACTIONS
            else "The filter is not valid."
            if scope is None
            else "Select at least one execution, or choose all matching."
        )
        _say(request, messages.ERROR, why)
        query = picked.get("query")
        return redirect(f"{back}?{query}" if query else back)
    terminate = action == "revoke" and request.POST.get("terminate") == "1"
    by_ids = "ids" in picked
    target = {"executions": picked["ids"]} if by_ids else {"filter": picked["query"]}
    run = request.POST.get("confirm") == "1"
    result = bulk_operate(
        action,
        scope,
        ids=picked.get("ids"),
        filters=None if by_ids else picked["filters"],
        dry_run=not run,
        actor=request.user,
        reason=_reason(request),
        source=SOURCE,
        target=target,
        terminate=terminate,
    )
    if run:
        _say(request, messages.SUCCESS, _outcome(dict(result)))
        return redirect(f"{back}?{picked['query']}" if picked["query"] else back)
    context = {
        **frame.common(request, "executions"),
        "result": result,
        "action": action,
        "terminate": terminate,
        "scope": "ids" if by_ids else "matching",
        "ids": picked.get("ids", []),
        "filters": request.POST.get("filters", ""),
        "back_query": picked["query"],
        "reason": _reason(request) or "",
        "limit": conf.bulk_limit(),
    }
    return render(request, frame.TEMPLATES + "bulk_confirm.html", context)


@operator_post
def lock_release_view(request: HttpRequest) -> HttpResponse:
    """Force-release one held lock by name (audited by the service), back to the locks page."""
    name = request.POST.get("name", "")
    backend = request.POST.get("backend") or None
    if not name or (backend is not None and backend not in BACKEND_NAMES):
        _say(request, messages.ERROR, "Name a held lock and its backend to release it.")
        return redirect("agentcore_task_dashboard:locks")
    try:
        done = release_lock(
            name, backend=backend, actor=request.user, reason=_reason(request), source=SOURCE
        )
    except (LockBackendError, TypeError, ValueError) as error:
        _say(request, messages.ERROR, f"Lock {name!r} was not released: {error}")
    else:
        if done is None:
            _say(request, messages.WARNING, f"No backend holds a lock named {name!r} any more.")
        else:
            _say(request, messages.SUCCESS, f"Lock {name!r} released ({done[0]}: {done[1]}).")
    return redirect("agentcore_task_dashboard:locks")
