"""The Celery names of the two periodic tasks, fixed forever: Beat entries and
django_celery_beat rows of existing projects refer to them by these names."""

from __future__ import annotations

CLEANUP_TASK_NAME = "agentcore_task.adapters.django.tasks.cleanup_old_task_executions"
MARK_TIMEOUT_TASK_NAME = "agentcore_task.adapters.django.tasks.mark_timed_out_task_executions"
