"""``AGENTCORE_TASK_PROGRESS_MIN_INTERVAL``: at most one progress write per interval per row.

A task that reports progress in a tight loop would otherwise write (and index, and WAL-log)
one row version per call. With an interval, a call inside it is merged into what this
process holds for the execution and written later, so the newest values are never lost:

* by the next call after the interval (with everything held since, the newest key winning);
* by the next status write of that execution (merged into the same statement);
* when the task ends (auto-tracking's ``task_postrun``, after its own status write).

Held values live in this process only: a worker killed with ``SIGKILL`` loses at most one
interval of progress, never a status.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any


@dataclasses.dataclass
class _Held:
    written_at: float
    patch: dict[str, Any] = dataclasses.field(default_factory=dict)


class ProgressThrottle:
    """Per-execution progress patches held back, and when each execution last wrote."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, _Held] = {}

    def admit(self, task_id: str, patch: dict[str, Any], interval: float) -> dict[str, Any] | None:
        """Return the patch to write now (held keys merged in), or None to hold it back."""
        now = time.monotonic()
        with self._lock:
            held = self._held.get(task_id)
            if held is not None and now - held.written_at < interval:
                held.patch.update(patch)
                return None
            merged = {**held.patch, **patch} if held is not None else patch
            self._held[task_id] = _Held(now)
            return merged

    def release(self, task_id: str) -> dict[str, Any]:
        """Forget ``task_id`` and return what was held for it (empty when nothing)."""
        with self._lock:
            held = self._held.pop(task_id, None)
        return held.patch if held is not None else {}


throttle = ProgressThrottle()
