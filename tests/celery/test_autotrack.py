"""Automatic tracking end to end: a publishing process (this one) and a real worker process.

The tasks (``tests/celery_tasks.py``) contain no recording call; the worker auto-tracks
``tests.tracked.*``, and the tests turn tracking on in this process with override_settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import redis
from django.conf import settings
from django.test import override_settings

from agentcore_task.models import TaskExecution
from agentcore_task.status import TaskStatus
from agentcore_task.tracking import tracking_user
from tests.celery.worker import TRACKED, WORKER_TESTS, row_of
from tests.celery_tasks import (
    plain_add,
    release,
    tracked_add,
    tracked_billing,
    tracked_fail,
    tracked_retry_once,
    tracked_spawn,
    tracked_wait,
)
from tests.integration.test_failure_policy import closed_port

pytestmark = WORKER_TESTS


def status_of(task_id: str) -> str | None:
    row = row_of(task_id)
    return None if row is None else row.status


@TRACKED
def test_a_task_leaves_one_row_that_went_pending_started_success(make_user, wait_until):
    user = make_user()
    key = uuid.uuid4().hex
    with tracking_user(user):
        result = tracked_wait.apply_async((key,), countdown=1)  # not started for a second

    pending = row_of(result.id)
    assert (pending.status, pending.started_at) == (TaskStatus.PENDING, None)
    started = wait_until(lambda: row_of(result.id), lambda r: r.status == TaskStatus.STARTED)
    assert started.started_at is not None and started.finished_at is None
    release(key)
    assert result.get(timeout=30) == "released"
    row = wait_until(lambda: row_of(result.id), lambda r: r.status == TaskStatus.SUCCESS)

    assert TaskExecution.objects.filter(task_name="tests.tracked.wait").count() == 1
    assert row.pk == pending.pk
    assert (row.task_name, row.module, row.task_args) == ("tests.tracked.wait", "tests", [key])
    assert row.created_by_id == user.pk  # carried to the worker in a message header
    assert row.result == "released"
    assert pending.created_at <= row.started_at == started.started_at <= row.finished_at


@TRACKED
def test_a_failing_task_leaves_its_error_and_traceback(wait_until):
    result = tracked_fail.delay("it broke")
    result.get(timeout=30, propagate=False)

    row = wait_until(lambda: row_of(result.id), lambda r: r and r.status == "FAILURE")

    assert row.error == "ValueError: it broke"
    assert "Traceback" in row.traceback and "raise ValueError(message)" in row.traceback
    assert row.started_at is not None and row.finished_at is not None


@TRACKED
def test_a_retried_task_records_retry_then_success(wait_until):
    result = tracked_retry_once.delay(countdown=2)

    wait_until(lambda: status_of(result.id), lambda status: status == TaskStatus.RETRY)
    assert result.get(timeout=30) == "ok on retry"
    row = wait_until(lambda: row_of(result.id), lambda r: r.status == TaskStatus.SUCCESS)
    assert row.metadata["retries"] == 1
    assert "flaky the first time" in row.metadata["retry_reason"]
    assert TaskExecution.objects.filter(task_name="tests.tracked.retry_once").count() == 1


@TRACKED
def test_a_terminated_task_is_recorded_as_revoked(celery_worker_process, wait_until):
    result = tracked_wait.delay(uuid.uuid4().hex)
    wait_until(lambda: status_of(result.id), lambda status: status == TaskStatus.STARTED)

    celery_worker_process.revoke(result.id, terminate=True)

    row = wait_until(lambda: row_of(result.id), lambda r: r.status == TaskStatus.REVOKED)
    assert row.error.startswith("Revoked: terminated")
    assert row.finished_at is not None


@TRACKED
def test_a_task_published_by_a_tracked_task_is_credited_to_the_same_user(make_user, wait_until):
    user = make_user()
    with tracking_user(user):
        child_id = tracked_spawn.delay(4).get(timeout=30)

    child = wait_until(lambda: row_of(child_id), lambda r: r and r.status == "SUCCESS")
    assert child.created_by_id == user.pk
    assert child.result == {"sum": 8, "inputs": [4, 4]}


@TRACKED
def test_the_module_comes_from_the_task_option_when_given(wait_until):
    result = tracked_billing.delay(1, 2)

    row = wait_until(lambda: row_of(result.id), lambda r: r and r.status == "SUCCESS")
    assert row.module == "billing"


@TRACKED
def test_a_task_outside_the_patterns_leaves_no_row():
    result = plain_add.delay(1, 1)

    assert result.get(timeout=30) == {"sum": 2, "inputs": [1, 1]}
    assert row_of(result.id) is None


@override_settings(AGENTCORE_TASK_AUTO_TRACK=False)
def test_the_worker_creates_the_row_when_the_publisher_does_not_track(wait_until):
    result = tracked_add.apply_async((5, 6), countdown=1)
    assert row_of(result.id) is None  # this process did not register it

    result.get(timeout=30)
    row = wait_until(lambda: row_of(result.id), lambda r: r and r.status == "SUCCESS")
    assert (row.task_args, row.created_by_id, row.started_at is not None) == ([5, 6], None, True)


DELAY_WITH_DEAD_DATABASE = """
import logging, sys, django
logging.basicConfig(level=logging.ERROR, stream=sys.stderr, format="%(levelname)s %(message)s")
django.setup()
from tests.celery_tasks import tracked_add
print(tracked_add.delay(1, 2).id)
"""


def test_a_database_that_is_down_does_not_break_delay():
    queue = f"agentcore-tests-dead-db-{uuid.uuid4().hex}"  # no worker consumes it
    env = dict(
        os.environ,
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed_port()}/nowhere",
        DJANGO_SETTINGS_MODULE="tests.settings",
        AGENTCORE_TEST_CELERY_QUEUE=queue,
        AGENTCORE_TEST_AUTO_TRACK="tests.tracked.*",
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", DELAY_WITH_DEAD_DATABASE],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        task_id = done.stdout.strip()
        uuid.UUID(task_id)
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        assert broker.llen(queue) == 1  # the message was published
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
        assert len(errors) == 1, done.stderr
        assert task_id in errors[0] and "OperationalError" in errors[0]
    finally:
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)
