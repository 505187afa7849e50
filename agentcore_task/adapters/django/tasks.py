"""The contract's task path: ``agentcore_task.adapters.django.tasks.<name>``.

The tasks live in ``agentcore_task.tasks`` and are registered under these dotted names
whichever module Celery imports first; this module only re-exports them, so autodiscovery of
``agentcore_task.adapters.django`` in ``INSTALLED_APPS`` finds them too.
"""

from agentcore_task.tasks import cleanup_old_task_executions, mark_timed_out_task_executions

__all__ = ["cleanup_old_task_executions", "mark_timed_out_task_executions"]
