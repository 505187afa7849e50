"""The test URLconf with a detail stream route that answers 404, as a proxy or an older
server without that stream would: the page names the stream (the route resolves), the
browser's ``EventSource`` is refused, and the script must fall back to polling.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from agentcore_task.api.urls import urlpatterns as api_patterns
from tests.urls import urlpatterns as base_patterns


def missing_stream(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse("no stream here", status=404, content_type="text/plain")


api = (
    [
        path("executions/<int:pk>/stream/", missing_stream, name="execution-detail-stream"),
        *api_patterns,
    ],
    "agentcore_task",
)

urlpatterns = [
    path("api/v1/tasks/", include(api)),
    *(pattern for pattern in base_patterns if str(pattern.pattern) != "api/v1/tasks/"),
]
