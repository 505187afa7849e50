"""Lets ``INSTALLED_APPS`` name ``agentcore_task.adapters.django``: the same single app."""

from agentcore_task.apps import AgentcoreTaskConfig

__all__ = ["AgentcoreTaskConfig"]
