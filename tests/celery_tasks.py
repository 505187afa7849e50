"""Tasks the real test worker runs.

``tests.plain.*`` are never auto-tracked and record nothing (the sync tests register their
rows by hand and let only the sync change them); ``tests.tracked.*`` are auto-tracked by the
worker (``AGENTCORE_TEST_AUTO_TRACK``) and, when a test turns it on, by the publishing
process; ``tests.manual.*`` are not auto-tracked and record themselves through the tracker,
as the README's manual pattern does.

Tasks that must stay running until the test has looked wait for a Redis key
(:func:`release`), never for a fixed sleep.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from celery import Task
from django.conf import settings

from agentcore_task import TaskStatus, TaskTracker, prevent_duplicate_task
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


@app.task(name="tests.manual.report", bind=True)
def manual_report(self: Task, label: str) -> dict[str, Any]:
    """Record STARTED, progress and SUCCESS by hand, as the README's first example does."""
    TaskTracker.update_task_status(self.request.id, TaskStatus.STARTED)
    TaskTracker.update_progress(self.request.id, percent=50, message=label, step="work")
    TaskTracker.update_task_status(self.request.id, TaskStatus.SUCCESS, result={"label": label})
    return {"label": label}


@app.task(name="tests.manual.noop", bind=True)
def manual_noop(self: Task) -> None:
    """Record the start and the end of doing nothing."""
    TaskTracker.update_task_status(self.request.id, TaskStatus.STARTED)
    TaskTracker.update_task_status(self.request.id, TaskStatus.SUCCESS)


def _fail_on_record(task: Task) -> str:
    TaskTracker.update_task_status(task.request.id, TaskStatus.FAILURE, error="business rule")
    return "returned normally"


manual_fail_on_record = app.task(name="tests.manual.fail_on_record", bind=True)(_fail_on_record)
tracked_fail_on_record = app.task(name="tests.tracked.fail_on_record", bind=True)(_fail_on_record)


def _noop() -> None:
    return None


tracked_noop = app.task(name="tests.tracked.noop")(_noop)
tracked_long = app.task(name="tests.tracked.long", agentcore_timeout_minutes=120)(_wait)
tracked_quick = app.task(name="tests.tracked.quick", agentcore_timeout_minutes=2)(_wait)


@app.task(name="tests.tracked.exclusive")
@prevent_duplicate_task("tests-exclusive", lock_param="key")
def tracked_exclusive(key: str) -> str:
    """Hold the lock for ``key`` until released; a second run meanwhile is skipped."""
    return _wait(key)


@app.task(name="tests.tracked.steps", bind=True)
def tracked_steps(self: Task, key: str, steps: int) -> str:
    """Report progress after each of ``steps`` steps, each waiting for ``release(key:n)``.

    The dashboard's browser test watches a bar move one step at a time, as the test says.
    """
    for step in range(1, steps + 1):
        if not _wait_for_release(f"{key}:{step}"):
            return "gave up"
        TaskTracker.update_progress(
            self.request.id, percent=step * 100 // steps, message=f"step {step} of {steps}"
        )
    return "done"


class UnprintableError(Exception):
    """An exception whose ``str()`` raises."""

    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken")


@app.task(name="tests.tracked.unprintable")
def tracked_unprintable() -> None:
    raise UnprintableError("x")


def _mark(key: str) -> str:
    """Leave a Redis key saying the body ran (the revoke tests assert it never does)."""
    _redis().set(f"agentcore-tests:ran:{key}", 1, ex=300)
    return "ran"


def body_ran(key: str) -> bool:
    """Tell whether a ``*.mark`` task's body ran for ``key``."""
    return bool(_redis().get(f"agentcore-tests:ran:{key}"))


plain_mark = app.task(name="tests.plain.mark")(_mark)
tracked_mark = app.task(name="tests.tracked.mark")(_mark)


@app.task(name="tests.tracked.recorder", bind=True)
def tracked_recorder(self: Task, key: str) -> dict[str, Any]:
    """Report progress as celery-progress users do (ProgressRecorder), no library call."""
    from celery_progress.backend import ProgressRecorder

    recorder = ProgressRecorder(self)
    recorder.set_progress(3, 10, description="three")
    _wait_for_release(key)
    recorder.set_progress(10, 10, description="ten")
    return {"done": 10}


@app.task(name="tests.tracked.throttled", bind=True)
def tracked_throttled(self: Task, key: str, interval: float) -> dict[str, Any]:
    """Report progress in tight loops under PROGRESS_MIN_INTERVAL; count the calls that wrote.

    Loop a, then a status write (which must carry a's newest values), a wait for the test
    to look, then loop b, whose newest values must be written when the task ends.
    """
    from django.test import override_settings

    with override_settings(AGENTCORE_TASK_PROGRESS_MIN_INTERVAL=interval):
        written_a = sum(
            TaskTracker.update_progress(self.request.id, percent=i // 2, message=f"a{i}")
            is not None
            for i in range(1, 201)
        )
        TaskTracker.update_task_status(self.request.id, TaskStatus.STARTED, metadata={"phase": "b"})
        _wait_for_release(key)
        written_b = sum(
            TaskTracker.update_progress(self.request.id, message=f"b{i}") is not None
            for i in range(1, 51)
        )
    return {"written_a": written_a, "written_b": written_b}
