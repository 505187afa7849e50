"""Make a revoke outlive every worker's memory: check the row when a message arrives.

Celery keeps revokes in each worker's memory (``celery.worker.state.revoked``, bounded and
expiring after ``CELERY_WORKER_REVOKE_EXPIRES``, three hours by default): a worker that was
down during the broadcast, or restarted after it, forgets and runs the task. Our row does
not forget. When a worker's consumer receives a message (``task_received``, in the worker's
main process, before the request goes to the pool), this handler asks the row whether the
execution is REVOKED and, if so, adds its id to that very in-memory set. Celery's own check
right after then discards the message as revoked (acknowledged, ``task_revoked`` sent,
the result backend told): the body never runs, in any pool.

Why not ``task_prerun``: Celery's signals log and swallow a receiver's exception, so a
prerun handler cannot stop the body; a base task class could, but every project would have
to adopt it. This needs nothing but the app installed in the worker's Django (its
``AppConfig.ready`` connects the handler). It costs one indexed ``SELECT`` per received
message; ``AGENTCORE_TASK_REVOKE_CHECK = False`` turns it off. A database that cannot answer
is logged and the task runs (the tracker never stops a task it cannot check).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals

from agentcore_task import conf
from agentcore_task.services.operate import execution_is_revoked

__all__ = ["connect_revoke_guard", "on_task_received"]

logger = logging.getLogger("agentcore_task")


def on_task_received(request: Any = None, **_: Any) -> None:
    """Mark a received task revoked in the worker's memory when its row says REVOKED."""
    task_id = getattr(request, "id", None)
    name = getattr(request, "name", None)
    if not isinstance(task_id, str) or (isinstance(name, str) and name.startswith("celery.")):
        return
    try:
        if not conf.revoke_check() or not execution_is_revoked(task_id):
            return
        from celery.worker import state  # the worker's own module: only a worker sends this

        state.revoked.add(task_id)
    except Exception as exc:  # never let the check break the consumer
        logger.error(
            "agentcore_task revoke check failed for %s: %s: %s", task_id, type(exc).__name__, exc
        )
        return
    logger.info("agentcore_task discards task %s: its row is REVOKED", task_id)


def connect_revoke_guard() -> None:
    """Connect the handler (once: the ``dispatch_uid`` makes repeats harmless)."""
    signals.task_received.connect(
        on_task_received, weak=False, dispatch_uid="agentcore_task.revoke_guard"
    )
