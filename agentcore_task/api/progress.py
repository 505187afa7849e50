"""``GET progress/{task_id}/``: celery-progress's JSON, answered from the execution row.

celery-progress's ``CeleryProgressBar`` polls a URL and reads ``state``, ``complete``,
``success``, ``progress`` (``pending``, ``current``, ``total``, ``percent``,
``description``) and ``result``. This view gives it that shape from the row, so the
JavaScript works unchanged when pointed here, with two differences from celery-progress's
own view: the answer comes from the table, not the result backend, and it is scoped like
the rest of the API (a user reads their own executions unless staff or
``agentcore_task.view_all_taskexecution``); an id the user may not see is a 404, exactly
like an unknown one.

Where the numbers come from: ``update_progress`` writes ``progress_percent`` and
``progress_message``; a task's ``self.update_state(state="PROGRESS", meta={"current",
"total", "description"})`` (celery-progress's ``ProgressRecorder``) is recorded into the same
keys plus ``progress_current`` / ``progress_total`` by auto-tracking.
"""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentcore_task import conf
from agentcore_task.api.errors import api_exception_handler
from agentcore_task.api.openapi import extend_schema
from agentcore_task.api.serializers import ErrorSerializer
from agentcore_task.models import TaskExecution
from agentcore_task.status import TaskStatus

RUNNING = (TaskStatus.STARTED.value, TaskStatus.RETRY.value)


class ProgressSerializer(serializers.Serializer[Any]):
    pending = serializers.BooleanField()
    current = serializers.FloatField()
    total = serializers.FloatField()
    percent = serializers.FloatField()
    description = serializers.CharField(required=False)


class CeleryProgressSerializer(serializers.Serializer[Any]):
    """celery-progress's answer, for the OpenAPI schema."""

    state = serializers.CharField(help_text="The row's status; PROGRESS while it reports some.")
    complete = serializers.BooleanField()
    success = serializers.BooleanField(allow_null=True)
    progress = ProgressSerializer()
    result = serializers.JSONField(required=False, help_text="Present once complete.")


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def celery_progress_state(row: TaskExecution) -> dict[str, Any]:
    """Return the celery-progress JSON of one execution row."""
    metadata = row.metadata or {}
    status = row.status
    done = {"pending": False, "current": 100, "total": 100, "percent": 100}
    if status == TaskStatus.SUCCESS:
        return {
            "state": status,
            "complete": True,
            "success": True,
            "progress": done,
            "result": row.result,
        }
    if status in (TaskStatus.FAILURE, TaskStatus.REVOKED):
        return {
            "state": status,
            "complete": True,
            "success": False,
            "progress": done,
            "result": row.error or status,
        }
    percent = _number(metadata.get("progress_percent"))
    current = _number(metadata.get("progress_current"))
    total = _number(metadata.get("progress_total"))
    if current is None or total is None:
        current, total = (percent or 0), 100
    progress: dict[str, Any] = {
        "pending": status == TaskStatus.PENDING,
        "current": current,
        "total": total,
        "percent": percent if percent is not None else 0,
    }
    description = metadata.get("progress_message")
    if isinstance(description, str):
        progress["description"] = description
    reported = percent is not None or description is not None
    state = "PROGRESS" if status in RUNNING and reported else status
    return {"state": state, "complete": False, "success": None, "progress": progress}


class CeleryProgressView(APIView):
    """celery-progress's JSON for one execution, by Celery task id."""

    def get_permissions(self) -> list[BasePermission]:
        return [import_string(path)() for path in conf.api_permission_classes()]

    def get_exception_handler(self) -> Any:
        return api_exception_handler

    @extend_schema(responses={200: CeleryProgressSerializer, 404: ErrorSerializer})
    def get(self, request: Request, task_id: str) -> Response:
        row = (
            TaskExecution.objects.visible_to(request.user)
            .only("status", "metadata", "result", "error")
            .filter(task_id=task_id)
            .first()
        )
        if row is None:
            raise NotFound(f"No execution with task id {task_id!r}.")
        return Response(celery_progress_state(row))
