"""The pages: overview, executions table, one execution. HTTP in, template context out.

Each view starts from ``TaskExecution.objects.visible_to(request.user)``, the rule the API
applies, and narrows it with the same parsers and query methods, so no page shows a row the
API would refuse that user. Anonymous visitors go to the host's ``LOGIN_URL``.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from agentcore_task.dashboard import frame, live, operate, present, rows
from agentcore_task.dashboard.overview import DEFAULT_WINDOW, RUNNING_LIMIT, WINDOWS, overview
from agentcore_task.dashboard.table import PAGE_SIZE, page_of, query_string, read_query
from agentcore_task.querysets import VIEW_ALL_PERMISSION, sees_everything
from agentcore_task.services.chains import retries_of, retry_root
from agentcore_task.status import TaskStatus

TEMPLATES = frame.TEMPLATES
BARE_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
"""What a date input holds (``YYYY-MM-DD``)."""


FORM_FIELDS = (
    ("task_name", "Task name", "text", "myapp.tasks.build_report"),
    ("module", "Module", "text", "reports"),
    ("start_date", "Created from", "date", ""),
    ("end_date", "Created until", "date", ""),
    ("created_by", "Created by (user id)", "text", ""),
    ("search", "Search task name or id", "search", ""),
    ("metadata", "Metadata contains (JSON)", "text", '{"tenant": 42}'),
    ("task_kwargs", "Keyword arguments contain (JSON)", "text", '{"feed": 7}'),
)


def _input_type(kind: str, value: str) -> str:
    """Return the input's type: a date picker, unless the value is more than a date.

    The list takes datetimes too (``2026-11-28T14:30:00``); a date input would blank such a
    value, so the form would show no filter while the table applies it, and drop it on the
    next submit.
    """
    if kind == "date" and value and not BARE_DATE.fullmatch(value):
        return "text"
    return kind


def _form_fields(values: dict[str, Any], errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "label": label,
            "kind": _input_type(kind, values.get(name, "")),
            "hint": hint,
            "value": values.get(name, ""),
            "errors": errors.get(name, []),
        }
        for name, label, kind, hint in FORM_FIELDS
    ]


def _api_scope(request: HttpRequest, mine: bool = False) -> dict[str, str]:
    """Return the API parameters that select the rows this page shows (its default is own)."""
    return {} if mine or not sees_everything(request.user) else {"my_tasks": "false"}


def _live_query(scope: dict[str, str], values: dict[str, Any], size: int = PAGE_SIZE) -> str:
    """Return the API list query that selects the same rows as the page, for the script."""
    values = dict(values)
    values.update(scope, metadata_fields=live.LIVE_METADATA, page_size=str(size))
    return query_string(values, mine=False)


@require_safe
@login_required
def overview_page(request: HttpRequest) -> HttpResponse:
    """Counts by status over a window, throughput and failures over time, what runs now."""
    window = request.GET.get("window", DEFAULT_WINDOW)
    status = 200
    if window not in WINDOWS:
        window, status = DEFAULT_WINDOW, 400
    context = overview(rows.visible(request.user), window)
    api = live.api_list_url()
    running = {"status": ",".join(TaskStatus.get_running_statuses())}
    context.update(
        frame.common(request, "overview"),
        window_error=status == 400,
        api=api,
        stream=live.list_stream_url(api),
        live_query=_live_query(_api_scope(request), running, RUNNING_LIMIT),
        # The stream follows every visible row, not only running ones: a row that finishes
        # no longer matches a status filter, so its last event would never come, and the
        # script could not drop it from the running list (it keeps STARTED and RETRY).
        stream_query=_live_query(_api_scope(request), {}, RUNNING_LIMIT),
    )
    return render(request, TEMPLATES + "overview.html", context, status=status)


@require_safe
@login_required
@ensure_csrf_cookie  # its forms post with the token, whatever the host's middleware
def executions_page(request: HttpRequest) -> HttpResponse:
    """The executions the user may see, filtered as the API's list is, newest first."""
    asked = read_query(request.GET)
    refused = _others_rows_refused(request.user, asked.filters.created_by_id)
    if refused:
        asked.errors["created_by"] = [refused]
    visible = rows.visible(request.user)
    if asked.mine:
        visible = visible.owned_by(request.user)
    page = None
    if not asked.errors:
        matching = visible.matching(asked.filters).list_columns()
        page = page_of(matching, asked.after)
    api = live.api_list_url()
    live_rows = not asked.errors
    api_values = _api_values(asked.values)
    if page and page.rows and asked.after is not None:
        # An older page follows its own rows: the API's newest ones up to this page's first.
        api_values["end_date"] = page.rows[0].created_at.isoformat()
    context = {
        **frame.common(request, "executions"),
        "asked": asked,
        "form_fields": _form_fields(asked.values, asked.errors),
        "values": asked.values,
        "statuses": TaskStatus.choices,
        "rows": [present.execution(row) for row in page.rows] if page else [],
        "count": page.count if page else 0,
        "count_short": present.short_number(page.count) if page else "0",
        "capped": page.capped if page else False,
        "filters_query": query_string(asked.values, asked.mine),
        "next_query": (
            query_string(asked.values, asked.mine, after=page.next_cursor)
            if page and page.next_cursor
            else None
        ),
        "first_page": asked.after is None,
        "sees_everything": sees_everything(request.user),
        "bulk": operate.may_operate(request.user) and not asked.errors,
        "api": api if live_rows else None,
        "stream": live.list_stream_url(api) if live_rows else None,
        "live_query": _live_query(_api_scope(request, asked.mine), api_values),
    }
    return render(
        request,
        TEMPLATES + "executions.html",
        context,
        status=403 if refused else 400 if asked.errors else 200,
    )


def _others_rows_refused(user: Any, created_by: int | None) -> str | None:
    """Return why ``created_by`` is refused to ``user``, as the API's 403 does, or None.

    Answering with an empty table would tell the reader that user has no executions.
    """
    if created_by is None or created_by == user.pk or sees_everything(user):
        return None
    return (
        "You may only list your own executions; another user's need staff status or the "
        f"{VIEW_ALL_PERMISSION} permission."
    )


def _api_values(values: dict[str, Any]) -> dict[str, Any]:
    api_values = dict(values)
    api_values["status"] = ",".join(values["status"])
    return api_values


@require_safe
@login_required
@ensure_csrf_cookie  # its forms post with the token, whatever the host's middleware
def execution_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything recorded about one execution the user may see; a 404 page otherwise."""
    visible = rows.visible(request.user)
    row = rows.with_usernames(visible.filter(pk=pk)).first()
    if row is None:
        return frame.not_found(request, pk)
    api = live.api_list_url()
    now = timezone.now()
    context = {
        **frame.common(request, "execution"),
        "execution": row,
        "view": present.execution(row, now),
        "json_fields": [
            (name, label, present.pretty_json(getattr(row, name)))
            for name, label in (
                ("task_args", "Arguments"),
                ("task_kwargs", "Keyword arguments"),
                ("result", "Result"),
                ("metadata", "Metadata"),
            )
        ],
        "updated": present.moment(row.updated_at),
        "back_query": _kept_filters(request.GET.get("from", "")),
        "api": api,
        "stream": live.detail_stream_url(api, row.pk),
        "actions": operate.offered(request.user, row.status),
        "history": present.history(row.status_history, now),
        "queue_wait": present.duration_text(row.queue_wait),
        "chain": _chain(visible, row),
    }
    return render(request, TEMPLATES + "execution.html", context)


def _chain(visible: Any, row: Any) -> dict[str, Any] | None:
    """Return the row's retry chain (what it retries, the first row, its retries), keeping
    only the ids the user may see; None when the row is in no chain."""
    retries = retries_of(row)
    if row.retry_of_id is None and not retries:
        return None
    root = retry_root(row)
    named = {pk for pk in (row.retry_of_id, root, *retries) if pk is not None}
    shown = set(visible.filter(pk__in=named).values_list("pk", flat=True))
    return {
        "retry_of": row.retry_of_id if row.retry_of_id in shown else None,
        "root": root if root in shown and root != row.retry_of_id else None,
        "retries": [pk for pk in retries if pk in shown],
    }


def _kept_filters(text: str) -> str:
    """Return the table's filters a detail link came from, re-encoded from their parsed form."""
    asked = read_query(QueryDict(text))
    return query_string(asked.values, asked.mine)
