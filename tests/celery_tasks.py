"""Tasks the real test worker runs. None of them records anything itself.

``tests.plain.*`` are never auto-tracked (the sync tests register their rows by hand and let
only the sync change them); ``tests.tracked.*`` are auto-tracked by the worker
(``AGENTCORE_TEST_AUTO_TRACK``) and, when a test turns it on, by the publishing process.

Tasks that must stay running until the test has looked wait for a Redis key
(:func:`release`), never for a fixed sleep.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from celery import Task
from django.conf import settings

from tests.celery_app import app

WAIT_LIMIT = 60.0


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def release(key: str) -> None:
    """Let the task waiting on ``key`` finish."""
    _redis().set(f"agentcore-tests:release:{key}", 1, ex=300)


def _wait_for_release(key: str) -> bool:
    client = _redis()
    deadline = time.monotonic() + WAIT_LIMIT
    while time.monotonic() < deadline:
        if client.get(f"agentcore-tests:release:{key}"):
            return True
        time.sleep(0.02)
    return False


def _add(x: int, y: int) -> dict[str, Any]:
    return {"sum": x + y, "inputs": [x, y]}


def _fail(message: str) -> None:
    raise ValueError(message)


def _wait(key: str) -> str:
    return "released" if _wait_for_release(key) else "gave up"


def _progress_then_wait(task: Task, key: str) -> str:
    task.update_state(state="PROGRESS", meta={"done": 1, "total": 2})
    return _wait(key)


def _retry_once(task: Task, countdown: float) -> str:
    if task.request.retries == 0:
        raise task.retry(exc=RuntimeError("flaky the first time"), countdown=countdown)
    return "ok on retry"


plain_add = app.task(name="tests.plain.add")(_add)
plain_fail = app.task(name="tests.plain.fail")(_fail)
plain_wait = app.task(name="tests.plain.wait")(_wait)
plain_progress = app.task(name="tests.plain.progress", bind=True)(_progress_then_wait)
plain_retry_once = app.task(name="tests.plain.retry_once", bind=True, max_retries=1)(_retry_once)

tracked_add = app.task(name="tests.tracked.add")(_add)
tracked_fail = app.task(name="tests.tracked.fail")(_fail)
tracked_wait = app.task(name="tests.tracked.wait")(_wait)
tracked_retry_once = app.task(name="tests.tracked.retry_once", bind=True, max_retries=1)(
    _retry_once
)
tracked_billing = app.task(name="tests.tracked.charge", agentcore_module="billing")(_add)


@app.task(name="tests.tracked.spawn")
def tracked_spawn(x: int) -> str:
    """Publish a child task from inside a tracked task; the child inherits the user."""
    return str(tracked_add.delay(x, x).id)
