"""Task locks: one API over a Django-cache backend and a PostgreSQL advisory-lock backend.

``AGENTCORE_TASK_LOCK_BACKEND`` picks the backend (``"cache"``, the default, or
``"advisory"``); every function and the decorator also take ``backend=`` to override it.
Only the owner (the thread that took a lock) releases it, unless ``force=True``.
"""

from __future__ import annotations

from agentcore_task.locks.advisory import advisory_lock_ids, advisory_lock_key
from agentcore_task.locks.api import (
    acquire_task_lock,
    is_task_locked,
    lock_is_held,
    release_task_lock,
)
from agentcore_task.locks.base import LockBackendError
from agentcore_task.locks.decorator import (
    SkippedResult,
    lock_name_for_value,
    prevent_duplicate_task,
)

__all__ = [
    "LockBackendError",
    "SkippedResult",
    "acquire_task_lock",
    "advisory_lock_ids",
    "advisory_lock_key",
    "is_task_locked",
    "lock_is_held",
    "lock_name_for_value",
    "prevent_duplicate_task",
    "release_task_lock",
]
