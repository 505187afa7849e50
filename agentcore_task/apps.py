"""The Django app. Its label, ``agentcore_task``, fixes the table and migration names."""

from __future__ import annotations

from django.apps import AppConfig


class AgentcoreTaskConfig(AppConfig):
    name = "agentcore_task"
    label = "agentcore_task"
    verbose_name = "Agentcore task executions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agentcore_task import checks  # noqa: F401  (registers the system checks)
        from agentcore_task.locks import checks as _lock_checks  # noqa: F401  (the same, locks)
