"""``TaskTracker``: the one class through which callers record and read executions.

A facade over the services below it, so the original's calls keep working
(``TaskTracker.update_progress(...)``, on the class or an instance): the writes
(``services/writes.py``), registration, stats and the Celery sync. It adds no behaviour of its
own beyond ``get_task``.
"""

from __future__ import annotations

from agentcore_task.models import TaskExecution
from agentcore_task.services import arguments, celery_sync, writes
from agentcore_task.services.recording import guarded
from agentcore_task.services.registration import register_task_execution
from agentcore_task.services.stats import get_task_stats

__all__ = ["TaskTracker"]


class TaskTracker:
    """Record what happens to an execution, from inside the task or from outside it.

    All methods are static: call them on the class (``TaskTracker.update_progress(...)``) or on
    an instance, with the same result.
    """

    register_task = staticmethod(register_task_execution)
    get_task_stats = staticmethod(get_task_stats)
    sync_task_from_celery = staticmethod(celery_sync.sync_task_from_celery)
    sync_all_unfinished_executions = staticmethod(celery_sync.sync_all_unfinished_executions)
    update_task_status = staticmethod(writes.update_task_status)
    update_progress = staticmethod(writes.update_progress)
    flush_progress = staticmethod(writes.flush_progress)
    append_metadata = staticmethod(writes.append_metadata)

    @staticmethod
    def get_task(task_id: str, sync: bool = True) -> TaskExecution | None:
        """Return the row for ``task_id``, or None.

        Args:
            task_id: the Celery task id.
            sync: first copy the state from Celery's result backend
                (:func:`~agentcore_task.services.celery_sync.sync_task_from_celery`); when the
                backend cannot be read the row is returned as recorded.

        Returns:
            The row; None for an unknown task id or when the database failed (logged).
        """
        task_id = arguments.require_task_id(task_id)
        if sync:
            return celery_sync.sync_task_from_celery(task_id)
        return guarded(
            "read the execution",
            task_id,
            lambda: TaskExecution.objects.filter(task_id=task_id).first(),
        )
