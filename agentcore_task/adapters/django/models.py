"""Backward-compatible path: ``agentcore_task.adapters.django.models.TaskExecution``."""

from agentcore_task.models import TaskExecution

__all__ = ["TaskExecution"]
