"""Operate with real workers: a revoke that outlives every worker's memory, terminate, retry,
and a lock left behind by a SIGKILLed worker."""

from __future__ import annotations

import uuid

import pytest
from celery.result import AsyncResult
from rest_framework.test import APIClient

from agentcore_task import dispatch, is_task_locked, retry_execution, revoke_execution
from agentcore_task.models import TaskAction
from agentcore_task.status import TaskStatus
from tests.celery.worker import WORKER_TESTS, row_of
from tests.celery.workers import kill_worker, new_queue, start_worker, stop_worker, worker_on
from tests.celery_tasks import (
    body_ran,
    plain_add,
    plain_mark,
    tracked_add,
    tracked_exclusive,
    tracked_mark,
    tracked_wait,
)
from tests.lock_workers import fresh_lock_sessions  # noqa: F401  (autouse fixture)

pytestmark = WORKER_TESTS


def backend_state(task_id: str) -> str:
    return AsyncResult(task_id).state


def drained(queue: str) -> None:
    """Wait until the worker on ``queue`` has taken everything sent there before now."""
    AsyncResult(dispatch(plain_add, [1, 1], queue=queue).task_id).get(timeout=60)


@pytest.mark.parametrize("task", [plain_mark, tracked_mark], ids=["untracked", "auto-tracked"])
def test_a_revoked_pending_task_never_runs_after_every_worker_restarted(task, wait_until):
    queue = new_queue()
    first = start_worker(queue)
    stop_worker(first)  # every worker that could have remembered the revoke is gone
    key = uuid.uuid4().hex
    row = dispatch(task, [key], queue=queue)  # waits in the broker: nobody consumes the queue

    revoke_execution(row, reason="not wanted")
    with worker_on(queue) as restarted:  # a fresh process: Celery's revoke list is empty
        wait_until(lambda: backend_state(row.task_id), lambda state: state == "REVOKED")
        drained(queue)
        log = restarted.log()

    assert not body_ran(key)
    stored = row_of(row.task_id)
    assert stored.status == TaskStatus.REVOKED and stored.started_at is None
    assert f"Discarding revoked task: {task.name}[{row.task_id}]" in log


def test_without_the_revoke_check_a_restarted_worker_would_run_it(wait_until):
    """The control: what the check prevents (so the test above can fail)."""
    queue = new_queue()
    key = uuid.uuid4().hex
    row = dispatch(plain_mark, [key], queue=queue)

    revoke_execution(row)
    with worker_on(queue, AGENTCORE_TEST_REVOKE_CHECK="off"):
        wait_until(lambda: body_ran(key), bool, timeout=60)

    assert row_of(row.task_id).status == TaskStatus.REVOKED  # the row still says so


def test_a_revoke_sent_while_a_worker_holds_the_message_survives_its_restart(wait_until):
    queue = new_queue()
    key = uuid.uuid4().hex
    with worker_on(queue) as worker:
        row = dispatch(plain_mark, [key], queue=queue, countdown=20)  # held by the worker
        wait_until(lambda: f"[{row.task_id}] received" in worker.log(), bool)
        revoke_execution(row)
    # The warm shutdown put the unacknowledged message back; a new worker gets it.
    with worker_on(queue) as restarted:
        wait_until(lambda: "Discarding revoked task" in restarted.log(), bool, timeout=60)
    assert not body_ran(key)
    assert row_of(row.task_id).status == TaskStatus.REVOKED


def test_terminate_stops_a_running_task_and_the_row_ends_revoked(celery_worker_process, wait_until):
    row = dispatch(tracked_wait, [uuid.uuid4().hex])  # waits for a release that never comes
    wait_until(lambda: row_of(row.task_id).status, lambda status: status == TaskStatus.STARTED)

    revoked = revoke_execution(row, terminate=True, reason="runaway")

    assert revoked.status == TaskStatus.REVOKED
    wait_until(lambda: backend_state(row.task_id), lambda state: state == "REVOKED")
    stored = row_of(row.task_id)
    assert stored.status == TaskStatus.REVOKED
    assert stored.worker == celery_worker_process.hostname
    assert [entry["status"] for entry in stored.status_history] == ["PENDING", "STARTED", "REVOKED"]
    assert stored.status_history[1]["worker"] == celery_worker_process.hostname
    assert stored.metadata["revoke_reason"] == "runaway"
    assert stored.error == "Revoked by code: runaway"  # the worker's own REVOKED kept it


def test_a_retry_runs_the_same_task_with_the_same_arguments(celery_worker_process, wait_until):
    original = dispatch(tracked_add, [2, 3])
    wait_until(lambda: row_of(original.task_id).status, lambda s: s == TaskStatus.SUCCESS)

    new = retry_execution(original, reason="again")

    done = wait_until(lambda: row_of(new.task_id), lambda row: row.status == TaskStatus.SUCCESS)
    assert done.result == {"sum": 5, "inputs": [2, 3]}
    assert done.retry_of_id == original.pk and done.task_id != original.task_id
    assert done.queue == row_of(original.task_id).queue
    assert done.queue_wait is not None and done.queue_wait >= 0


def test_a_lock_held_by_a_sigkilled_worker_is_listed_and_can_be_released(wait_until, make_user):
    queue = new_queue()
    key = uuid.uuid4().hex
    worker = start_worker(queue)
    try:
        row = dispatch(tracked_exclusive, [key], queue=queue)
        wait_until(lambda: row_of(row.task_id).status, lambda s: s == TaskStatus.STARTED)
    finally:
        kill_worker(worker)
    staff = APIClient()
    staff.force_authenticate(make_user(username="ops", is_staff=True))

    locks = staff.get("/api/v1/tasks/locks/").json()["locks"]

    (lock,) = [item for item in locks if item["holder"] == row.task_id]
    assert lock["name"].startswith("tests-exclusive:key=sha256:")
    assert lock["backend"] == "cache" and 3000 < lock["ttl"] <= 3600
    assert is_task_locked(lock["name"])
    response = staff.post("/api/v1/tasks/locks/release/", {"name": lock["name"]}, format="json")
    assert response.status_code == 200, response.content
    assert not is_task_locked(lock["name"])
    assert TaskAction.objects.filter(action="lock_release").count() == 1
    assert all(
        item["name"] != lock["name"] for item in staff.get("/api/v1/tasks/locks/").json()["locks"]
    )
