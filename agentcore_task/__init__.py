"""agentcore-task: one trustworthy PostgreSQL row per Celery task execution.

Every public name is importable from here (``from agentcore_task import dispatch``), resolved
on first use (PEP 562), so listing the app in ``INSTALLED_APPS`` or importing it from a
settings file loads no models before ``django.setup()``. The names and their modules are
listed once, in ``agentcore_task/public.py``; the imports below only tell type checkers
(a test keeps them equal to that list).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcore_task.public import PUBLIC_NAMES, resolve

if TYPE_CHECKING:
    from agentcore_task.beat import get_cleanup_beat_schedule, get_mark_timeout_beat_schedule
    from agentcore_task.locks import (
        acquire_task_lock,
        is_task_locked,
        prevent_duplicate_task,
        release_task_lock,
    )
    from agentcore_task.services.dispatch import dispatch
    from agentcore_task.services.logs import TaskLogCollector
    from agentcore_task.services.maintenance import (
        cleanup_old_executions,
        mark_timed_out_executions,
    )
    from agentcore_task.services.operate import retry_execution, revoke_execution
    from agentcore_task.services.queries import list_task_executions
    from agentcore_task.services.registration import register_task_execution
    from agentcore_task.services.stats import get_task_stats
    from agentcore_task.services.tracker import TaskTracker
    from agentcore_task.status import TaskStatus
    from agentcore_task.tasks import cleanup_old_task_executions, mark_timed_out_task_executions

__version__ = "0.1.0"

__all__ = [  # the names of PUBLIC_NAMES, spelled out so type checkers can follow star imports
    "TaskLogCollector",
    "TaskStatus",
    "TaskTracker",
    "acquire_task_lock",
    "cleanup_old_executions",
    "cleanup_old_task_executions",
    "dispatch",
    "get_cleanup_beat_schedule",
    "get_mark_timeout_beat_schedule",
    "get_task_stats",
    "is_task_locked",
    "list_task_executions",
    "mark_timed_out_executions",
    "mark_timed_out_task_executions",
    "prevent_duplicate_task",
    "register_task_execution",
    "release_task_lock",
    "retry_execution",
    "revoke_execution",
]
assert sorted(__all__) == sorted(PUBLIC_NAMES), "agentcore_task.__all__ must equal PUBLIC_NAMES"


def __getattr__(name: str) -> object:
    return resolve(__name__, name)


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])
