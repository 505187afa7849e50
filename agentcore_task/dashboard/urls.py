"""Routes of the dashboard: ``path("tasks/", include("agentcore_task.dashboard.urls"))``."""

from __future__ import annotations

from django.urls import path

from agentcore_task.dashboard import views

app_name = "agentcore_task_dashboard"

urlpatterns = [
    path("", views.overview_page, name="overview"),
    path("executions/", views.executions_page, name="executions"),
    path("executions/<int:pk>/", views.execution_page, name="execution"),
]
