"""The public surface: each exported name and the module that defines it.

``agentcore_task`` (the canonical path), ``agentcore_task.adapters.django`` and
``agentcore_task.adapters.django.services`` all export exactly these names, lazily (PEP 562),
because importing models before ``django.setup()`` would raise ``AppRegistryNotReady`` in a
settings file or an app's ``__init__``.
"""

from __future__ import annotations

import importlib

PUBLIC_NAMES: dict[str, str] = {
    "register_task_execution": "agentcore_task.services.registration",
    "dispatch": "agentcore_task.services.dispatch",
    "revoke_execution": "agentcore_task.services.operate",
    "retry_execution": "agentcore_task.services.operate",
    "TaskTracker": "agentcore_task.services.tracker",
    "TaskStatus": "agentcore_task.status",
    "TaskLogCollector": "agentcore_task.services.logs",
    "acquire_task_lock": "agentcore_task.locks",
    "release_task_lock": "agentcore_task.locks",
    "is_task_locked": "agentcore_task.locks",
    "prevent_duplicate_task": "agentcore_task.locks",
    "list_task_executions": "agentcore_task.services.queries",
    "get_task_stats": "agentcore_task.services.stats",
    "cleanup_old_executions": "agentcore_task.services.maintenance",
    "mark_timed_out_executions": "agentcore_task.services.maintenance",
    "get_cleanup_beat_schedule": "agentcore_task.beat",
    "get_mark_timeout_beat_schedule": "agentcore_task.beat",
    "cleanup_old_task_executions": "agentcore_task.tasks",
    "mark_timed_out_task_executions": "agentcore_task.tasks",
}


def resolve(module_name: str, name: str) -> object:
    """Import and return a public name for the module ``module_name``'s ``__getattr__``.

    Raises:
        AttributeError: ``name`` is not public, as a missing module attribute would.
    """
    try:
        source = PUBLIC_NAMES[name]
    except KeyError:
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(source), name)
