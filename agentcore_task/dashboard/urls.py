"""Routes of the dashboard: ``path("tasks/", include("agentcore_task.dashboard.urls"))``."""

from __future__ import annotations

from django.urls import path

from agentcore_task.dashboard import acting, oversight, views

app_name = "agentcore_task_dashboard"

urlpatterns = [
    path("", views.overview_page, name="overview"),
    path("executions/", views.executions_page, name="executions"),
    path("executions/bulk/", acting.bulk_view, name="bulk"),
    path("executions/<int:pk>/", views.execution_page, name="execution"),
    path("executions/<int:pk>/revoke/", acting.revoke_view, name="revoke"),
    path("executions/<int:pk>/retry/", acting.retry_view, name="retry"),
    path("locks/", oversight.locks_page, name="locks"),
    path("locks/release/", acting.lock_release_view, name="lock-release"),
    path("actions/", oversight.actions_page, name="actions"),
]
