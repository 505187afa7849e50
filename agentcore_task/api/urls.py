"""Routes of the API.

Mount with ``path("api/v1/tasks/", include("agentcore_task.adapters.django.urls"))``.
"""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from agentcore_task.api.actions import ActionListView
from agentcore_task.api.config import RuntimeConfigView
from agentcore_task.api.locks import LockReleaseView, LocksView
from agentcore_task.api.progress import CeleryProgressView
from agentcore_task.api.stream import ExecutionStreamViewSet
from agentcore_task.api.views import TaskExecutionViewSet

app_name = "agentcore_task"

router = SimpleRouter()
router.register("executions", TaskExecutionViewSet, basename="execution")

# The streams come before the router's routes: its detail route would take "stream" for an id.
live_urls = [
    path(
        "executions/stream/",
        ExecutionStreamViewSet.as_view({"get": "list_stream"}),
        name="execution-stream",
    ),
    path(
        "executions/<str:pk>/stream/",
        ExecutionStreamViewSet.as_view({"get": "detail_stream"}),
        name="execution-detail-stream",
    ),
    path("progress/<str:task_id>/", CeleryProgressView.as_view(), name="celery-progress"),
]

urlpatterns = [
    *live_urls,
    *router.urls,
    path("config/", RuntimeConfigView.as_view(), name="config"),
    path("locks/", LocksView.as_view(), name="locks"),
    path("locks/release/", LockReleaseView.as_view(), name="lock-release"),
    path("actions/", ActionListView.as_view(), name="actions"),
]
