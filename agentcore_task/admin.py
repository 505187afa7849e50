"""Show executions to operators in the Django admin: read-only, lean lists, two repair actions.

Django's autodiscovery imports this module only when ``django.contrib.admin`` is installed.
Importing it anyway (a linter, a test, ``python -c``) must not fail, and touching
``admin.site`` without the admin app raises ``LookupError``; so the ModelAdmin is defined
unconditionally and registered only when the admin app is installed.

Rows are the tracker's side record: the admin never offers a form that writes a raw row. What
it does offer goes through the same services the tasks use (``TaskTracker``), so the database's
status rules apply exactly as they do for a worker.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_permission_codename
from django.db.models import QuerySet
from django.db.models.fields.json import KT
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from agentcore_task.models import UNFINISHED_STATUSES, TaskAction, TaskExecution
from agentcore_task.querysets import OPERATE_PERMISSION
from agentcore_task.services.audit import record_action
from agentcore_task.services.operate import bulk_operate
from agentcore_task.services.tracker import TaskTracker
from agentcore_task.services.writes import PROGRESS_MESSAGE, PROGRESS_PERCENT, PROGRESS_STEP
from agentcore_task.status import TaskStatus

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[TaskExecution]
    _ActionAdmin = admin.ModelAdmin[TaskAction]
else:  # ModelAdmin is generic only in django-stubs; subscripting it at runtime fails.
    _ModelAdmin = _ActionAdmin = admin.ModelAdmin

__all__ = ["TaskActionAdmin", "TaskExecutionAdmin"]

# Columns the change list never shows. ``metadata`` is among them: a chatty task keeps up to
# AGENTCORE_TASK_METADATA_LIST_MAX_ITEMS log records there, and the progress column needs
# only three of its keys, which the list reads in SQL (``metadata->>'…'``) instead.
LIST_DEFERRED_FIELDS = ("task_args", "task_kwargs", "result", "metadata", "error", "traceback")

# Annotation names of the progress keys in the change list. They must differ from the
# model's ``progress_percent`` property, which has no setter.
_PROGRESS_ANNOTATIONS = {
    "admin_progress_step": PROGRESS_STEP,
    "admin_progress_message": PROGRESS_MESSAGE,
    "admin_progress_percent": PROGRESS_PERCENT,
}

_UNFINISHED = frozenset(str(status) for status in UNFINISHED_STATUSES)


def format_progress(step: object, message: object, percent: object) -> str | None:
    """Render progress as "step: message (percent%)", leaving out the parts that are missing.

    Returns None when there is no progress at all, so the admin shows its empty value.
    """
    text = ": ".join(str(part) for part in (step, message) if part not in (None, ""))
    if percent in (None, ""):
        return text or None
    return f"{text} ({percent}%)" if text else f"{percent}%"


def format_seconds(seconds: float | None) -> str | None:
    """Render a duration for a human: "4.2 s" under a minute, else "h:mm:ss"."""
    if seconds is None:
        return None
    if seconds < 60:
        return f"{seconds:.1f} s"
    return str(dt.timedelta(seconds=round(seconds)))


def pretty_json(value: Any) -> SafeString:
    """Render a JSON value indented, HTML-escaped, inside ``<pre>``."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return format_html("<pre>{}</pre>", text)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class TaskExecutionChangeList(ChangeList):
    """Load only what the change list shows: scalar columns plus three progress keys."""

    def get_queryset(
        self, request: HttpRequest, exclude_parameters: list[str | None] | None = None
    ) -> QuerySet[Any]:
        """Defer the payload columns and read the progress keys in SQL, for every list query.

        The action querysets come from here too; the actions read only ``task_id`` and
        ``status``, so they need nothing deferred either.
        """
        queryset = super().get_queryset(request, exclude_parameters)
        annotations = {name: KT(f"metadata__{key}") for name, key in _PROGRESS_ANNOTATIONS.items()}
        return queryset.defer(*LIST_DEFERRED_FIELDS).annotate(**annotations)


class TaskExecutionAdmin(_ModelAdmin):
    """Browse executions read-only; sync them from Celery or mark stuck ones FAILURE.

    Permissions:

    - Viewing (list and detail) needs Django's view permission on the model (or its change
      permission, as Django's default has it) and staff status, like every admin page. The
      admin lists everyone's executions; the REST API lets staff see every row too, so the two
      agree.
    - No add, and no change form: ``has_change_permission`` is always False, so the detail
      page opens in Django's view-only mode and a POST to it is refused (403). Rows are written
      by the tracker only.
    - "Sync from Celery" needs only the view permission: it copies Celery's own state into the
      row, as the periodic sync job does, and cannot record anything untrue.
    - "Mark stuck executions as FAILURE" asserts something about the task, so it needs the
      model's *change* permission (``agentcore_task.change_taskexecution``), which still
      exists and can be granted even though the admin offers no change form.
    - "Revoke selected executions" and "Retry selected executions" need
      ``agentcore_task.operate_taskexecution``, the permission the REST API asks for. Each
      runs the bulk verb of ``services.operate`` once and leaves one audit row; so do the
      two repair actions above.
    - Delete keeps Django's default: the ``delete_taskexecution`` permission. Nobody but
      superusers holds it until a host grants it, and a host may want an operator to prune
      rows without making them a superuser; hard-coding ``is_superuser`` would override the
      host's own permission decisions.
    """

    list_display = [
        "task_id",
        "task_name",
        "module",
        "status",
        "progress",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "duration_display",
    ]
    list_filter = ["status", "module", "created_at"]
    date_hierarchy = "created_at"
    # A pasted task id is the common search. get_search_results tries it as an exact id first,
    # one probe of the unique index; only when that finds nothing does the substring search
    # below run, and it is a sequential scan (UPPER(col) LIKE '%…%' can use no btree index).
    # "=task_id" would not help: it is iexact, UPPER(task_id) = UPPER(…), also unindexed.
    search_fields = ["task_name", "task_id"]
    search_help_text = (
        "An exact task id (fast), or part of a task name or task id (scans the table)."
    )
    list_select_related = ["created_by"]
    # Only matters if a subclass makes created_by editable: never render a <select> of users.
    raw_id_fields = ["created_by"]
    ordering = ["-created_at"]  # Django appends -pk, so pages are stable
    # The default also counts the unfiltered table on every page view: a second COUNT(*).
    show_full_result_count = False
    empty_value_display = "—"
    actions = ["sync_from_celery", "mark_stuck_failed", "revoke_selected", "retry_selected"]

    fieldsets = [
        (None, {"fields": ["task_id", "task_name", "module", "status", "created_by"]}),
        (
            "Timing",
            {
                "fields": [
                    "created_at",
                    "started_at",
                    "finished_at",
                    "updated_at",
                    "duration_display",
                ]
            },
        ),
        ("Progress", {"fields": ["progress"]}),
        ("Where", {"fields": ["queue", "worker", "retry_of", "status_history_json"]}),
        ("Arguments and result", {"fields": ["task_args_json", "task_kwargs_json", "result_json"]}),
        ("Error", {"fields": ["error", "traceback_text"]}),
        ("Metadata", {"fields": ["metadata_json"]}),
    ]
    readonly_fields = [
        "task_id",
        "task_name",
        "module",
        "status",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "updated_at",
        "duration_display",
        "progress",
        "task_args_json",
        "task_kwargs_json",
        "result_json",
        "error",
        "traceback_text",
        "metadata_json",
        "queue",
        "worker",
        "retry_of",
        "status_history_json",
    ]

    # --- permissions -------------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Refuse adding: rows are created by registering a task, never by hand."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: TaskExecution | None = None) -> bool:
        """Refuse editing raw rows; the detail page stays viewable through the view permission."""
        return False

    def has_mark_failed_permission(self, request: HttpRequest) -> bool:
        """Allow marking executions FAILURE to holders of the model's change permission."""
        codename = get_permission_codename("change", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Allow revoke and retry to staff holding ``agentcore_task.operate_taskexecution``
        (the admin needs staff anyway; a superuser holds every permission)."""
        return request.user.has_perm(OPERATE_PERMISSION)

    # --- queries -----------------------------------------------------------------------------

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        """Use the change list that defers the payload columns."""
        return TaskExecutionChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[TaskExecution], bool]:
        """Answer an exact task id from the unique index before falling back to substrings."""
        term = search_term.strip()
        if term and not any(char.isspace() for char in term):
            exact = queryset.filter(task_id=term)
            if exact.exists():
                return exact, False
        return super().get_search_results(request, queryset, search_term)

    # --- columns and detail fields -----------------------------------------------------------

    @admin.display(description="progress")
    def progress(self, obj: TaskExecution) -> str | None:
        """Show "step: message (percent%)" from the row's progress metadata keys."""
        if hasattr(obj, "admin_progress_step"):  # the change list: read in SQL
            values = [getattr(obj, name) for name in _PROGRESS_ANNOTATIONS]
        else:  # the detail page: the whole row is loaded
            metadata = obj.metadata if isinstance(obj.metadata, dict) else {}
            values = [metadata.get(key) for key in _PROGRESS_ANNOTATIONS.values()]
        return format_progress(*values)

    @admin.display(description="duration")
    def duration_display(self, obj: TaskExecution) -> str | None:
        """Show the run time, to now while the execution is still running."""
        return format_seconds(obj.duration)

    @admin.display(description="task args")
    def task_args_json(self, obj: TaskExecution) -> SafeString:
        """Show the positional arguments as indented JSON."""
        return pretty_json(obj.task_args)

    @admin.display(description="task kwargs")
    def task_kwargs_json(self, obj: TaskExecution) -> SafeString:
        """Show the keyword arguments as indented JSON."""
        return pretty_json(obj.task_kwargs)

    @admin.display(description="result")
    def result_json(self, obj: TaskExecution) -> SafeString | None:
        """Show the result as indented JSON; empty before the task returns."""
        return None if obj.result is None else pretty_json(obj.result)

    @admin.display(description="metadata")
    def metadata_json(self, obj: TaskExecution) -> SafeString:
        """Show the metadata as indented JSON."""
        return pretty_json(obj.metadata)

    @admin.display(description="status history")
    def status_history_json(self, obj: TaskExecution) -> SafeString:
        """Show the status transitions, oldest first, as indented JSON."""
        return pretty_json(obj.status_history)

    @admin.display(description="traceback")
    def traceback_text(self, obj: TaskExecution) -> SafeString | None:
        """Show the traceback preformatted, so its indentation survives."""
        return None if obj.traceback is None else format_html("<pre>{}</pre>", obj.traceback)

    # --- actions -----------------------------------------------------------------------------

    @admin.action(description="Sync from Celery", permissions=["view"])
    def sync_from_celery(self, request: HttpRequest, queryset: QuerySet[TaskExecution]) -> None:
        """Re-read each selected execution through ``TaskTracker.get_task(sync=True)``.

        Goes through the tracker, not the ORM, so when the Celery integration makes ``sync``
        copy the result backend's state into the row, this action does it too, unchanged.
        """
        task_ids = list(queryset.values_list("task_id", flat=True))
        reread = sum(TaskTracker.get_task(task_id, sync=True) is not None for task_id in task_ids)
        record_action(
            "sync",
            actor=request.user,
            source="admin",
            target={"executions": list(queryset.values_list("pk", flat=True))},
            counts={"synced": reread, "missed": len(task_ids) - reread},
        )
        self.message_user(request, f"Re-read {_plural(reread, 'execution')} from Celery.")
        if missed := len(task_ids) - reread:
            self.message_user(
                request,
                f"{_plural(missed, 'execution')} could not be read; see the agentcore_task log.",
                messages.WARNING,
            )

    @admin.action(description="Mark stuck executions as FAILURE", permissions=["mark_failed"])
    def mark_stuck_failed(self, request: HttpRequest, queryset: QuerySet[TaskExecution]) -> None:
        """Mark the selected unfinished executions FAILURE; leave finished ones alone.

        For a task whose worker died: nothing else would ever finish its row. Each row goes
        through ``TaskTracker.update_task_status``, so the database stamps ``finished_at``; the
        error names who did it, and the admin history records it too. A row that finishes for
        real between this read and the update is still marked FAILURE (terminal to terminal
        is allowed): the window is one round trip, and the tracker has no conditional update.
        """
        rows = list(queryset.values_list("task_id", "status"))
        stuck = [task_id for task_id, status in rows if status in _UNFINISHED]
        error = f"Marked failed by {request.user.get_username()} from the admin"
        marked = 0
        for task_id in stuck:
            row = TaskTracker.update_task_status(task_id, TaskStatus.FAILURE, error=error)
            if row is not None:
                marked += 1
                self.log_change(request, row, "Marked FAILURE (stuck execution).")
        skipped = len(rows) - len(stuck)
        record_action(
            "mark_failed",
            actor=request.user,
            source="admin",
            target={"executions": list(queryset.values_list("pk", flat=True))},
            counts={"marked": marked, "left_alone": skipped},
        )
        self.message_user(
            request,
            f"Marked {_plural(marked, 'execution')} FAILURE; "
            f"left {_plural(skipped, 'finished execution')} alone.",
        )
        if failed := len(stuck) - marked:
            self.message_user(
                request,
                f"{_plural(failed, 'execution')} could not be updated; see the agentcore_task log.",
                messages.WARNING,
            )

    @admin.action(description="Revoke selected executions", permissions=["operate"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[TaskExecution]) -> None:
        """Revoke the unfinished selected executions (the row first, then Celery): one
        bulk action, one audit row."""
        self._bulk(request, queryset, "revoke")

    @admin.action(description="Retry selected executions (as new rows)", permissions=["operate"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[TaskExecution]) -> None:
        """Run the finished selected executions again as new rows linked by retry_of."""
        self._bulk(request, queryset, "retry")

    def _bulk(self, request: HttpRequest, queryset: QuerySet[TaskExecution], action: str) -> None:
        """Act on the selection through the same bulk service as the API, audited once."""
        ids = list(queryset.values_list("pk", flat=True))
        result = bulk_operate(
            action,
            TaskExecution.objects.all(),
            ids=ids,
            actor=request.user,
            source="admin",
            target={"executions": ids},
        )
        self._report(request, result["counts"], result["truncated"])

    def _report(self, request: HttpRequest, counts: dict[str, int], truncated: bool) -> None:
        summary = ", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in counts.items())
        self.message_user(request, summary or "Nothing to do.")
        if truncated:
            self.message_user(
                request,
                "More were selected than AGENTCORE_TASK_BULK_LIMIT allows.",
                messages.WARNING,
            )


class TaskActionAdmin(_ActionAdmin):
    """The audit trail, read-only: nobody adds, changes or deletes its rows here."""

    list_display = ["created_at", "action", "actor_name", "source", "reason"]
    list_filter = ["action", "source", "created_at"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    readonly_fields = [
        "created_at",
        "actor",
        "actor_name",
        "action",
        "source",
        "target",
        "counts",
        "reason",
    ]
    raw_id_fields = ["actor"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Refuse adding: audit rows are written by the actions themselves."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: TaskAction | None = None) -> bool:
        """Refuse editing: an audit trail is not rewritten."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: TaskAction | None = None) -> bool:
        """Refuse deleting from the admin (a DBA may prune the table by age)."""
        return False


if apps.is_installed("django.contrib.admin"):
    admin.site.register(TaskExecution, TaskExecutionAdmin)
    admin.site.register(TaskAction, TaskActionAdmin)
