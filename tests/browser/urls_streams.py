"""The test URLconf with stand-ins for the API's event streams (issue #14 builds the real ones).

``executions/stream/`` answers one ``event: execution`` per visible row, its progress set to
:data:`PUSHED_PERCENT`, so a page showing that value got it from the stream, not a poll.
``executions/{id}/stream/`` answers 404, as a server without that stream would: the page must
fall back to polling.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from agentcore_task.api.urls import urlpatterns as api_patterns
from agentcore_task.models import TaskExecution
from tests.urls import urlpatterns as base_patterns

PUSHED_PERCENT = 77


def list_stream(request: HttpRequest) -> HttpResponse:
    events = []
    for row in TaskExecution.objects.visible_to(request.user).order_by("-id")[:20]:
        item = {
            "id": row.pk,
            "task_id": row.task_id,
            "task_name": row.task_name,
            "module": row.module,
            "status": row.status,
            "created_at": row.created_at.isoformat(),
            "started_at": row.started_at.isoformat() if row.started_at else None,
            "finished_at": None,
            "duration": row.duration,
            "created_by_username": None,
            "progress_percent": PUSHED_PERCENT,
            "progress_message": "pushed by the stream",
        }
        events.append(f"event: execution\ndata: {json.dumps(item)}\n\n")
    # A long retry: the connection ends after this body, and the browser would reconnect.
    return HttpResponse("retry: 600000\n\n" + "".join(events), content_type="text/event-stream")


def missing_stream(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse("no stream here", status=404, content_type="text/plain")


api = (
    [
        path("executions/stream/", list_stream, name="execution-stream"),
        path("executions/<int:pk>/stream/", missing_stream, name="execution-stream-detail"),
        *api_patterns,
    ],
    "agentcore_task",
)

urlpatterns = [
    path("api/v1/tasks/", include(api)),
    *(pattern for pattern in base_patterns if str(pattern.pattern) != "api/v1/tasks/"),
]
