"""Sync from Celery with a real worker producing every state, on rows registered by hand."""

from __future__ import annotations

import uuid

import pytest
from celery.result import AsyncResult

from agentcore_task.models import TaskExecution
from agentcore_task.services.registration import register_task_execution
from agentcore_task.services.tracker import TaskTracker
from agentcore_task.status import TaskStatus
from tests.celery_tasks import (
    plain_fail,
    plain_progress,
    plain_retry_once,
    plain_wait,
    release,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def registered(result: AsyncResult, name: str) -> AsyncResult:
    register_task_execution(result.id, name, "tests")
    return result


def backend_state(result: AsyncResult) -> str:
    return AsyncResult(result.id, app=result.app).state  # a fresh read, never the cache


def synced_status(task_id: str) -> str:
    return TaskTracker.sync_task_from_celery(task_id).status


def test_started_then_success_is_copied_with_the_result(celery_worker_process, wait_until):
    key = uuid.uuid4().hex
    result = registered(plain_wait.delay(key), "tests.plain.wait")
    wait_until(lambda: backend_state(result), lambda state: state == "STARTED")

    assert synced_status(result.id) == TaskStatus.STARTED
    release(key)
    assert result.get(timeout=30) == "released"
    row = TaskTracker.sync_task_from_celery(result.id)
    assert row.status == TaskStatus.SUCCESS
    stored = TaskExecution.objects.get(task_id=result.id)
    assert stored.result == "released"
    assert stored.started_at <= stored.finished_at


def test_a_custom_progress_state_marks_the_row_started(celery_worker_process, wait_until):
    key = uuid.uuid4().hex
    result = registered(plain_progress.delay(key), "tests.plain.progress")
    wait_until(lambda: backend_state(result), lambda state: state == "PROGRESS")

    assert synced_status(result.id) == TaskStatus.STARTED
    release(key)
    result.get(timeout=30)
    assert synced_status(result.id) == TaskStatus.SUCCESS


def test_failure_is_copied_with_the_workers_traceback(celery_worker_process):
    result = registered(plain_fail.delay("boom"), "tests.plain.fail")
    result.get(timeout=30, propagate=False)

    TaskTracker.sync_task_from_celery(result.id)

    row = TaskExecution.objects.get(task_id=result.id)
    assert row.status == TaskStatus.FAILURE
    assert row.error == "ValueError: boom"
    assert "raise ValueError(message)" in row.traceback


def test_retry_is_copied_and_then_the_final_success(celery_worker_process, wait_until):
    result = registered(plain_retry_once.delay(countdown=2), "tests.plain.retry_once")
    wait_until(lambda: backend_state(result), lambda state: state == "RETRY")

    assert synced_status(result.id) == TaskStatus.RETRY
    assert result.get(timeout=30) == "ok on retry"
    assert synced_status(result.id) == TaskStatus.SUCCESS


def test_a_terminated_task_is_copied_as_revoked(celery_worker_process, wait_until):
    result = registered(plain_wait.delay(uuid.uuid4().hex), "tests.plain.wait")
    wait_until(lambda: backend_state(result), lambda state: state == "STARTED")

    celery_worker_process.revoke(result.id, terminate=True)
    wait_until(lambda: backend_state(result), lambda state: state == "REVOKED")

    assert synced_status(result.id) == TaskStatus.REVOKED


def test_sync_all_brings_every_unfinished_row_up_to_date(celery_worker_process):
    results = [
        registered(plain_fail.delay("x"), "tests.plain.fail"),
        registered(plain_wait.delay("never-released-but-revoked"), "tests.plain.wait"),
    ]
    results[0].get(timeout=30, propagate=False)
    celery_worker_process.revoke(results[1].id, terminate=True)
    results[1].get(timeout=30, propagate=False)

    summary = TaskTracker.sync_all_unfinished_executions()

    assert summary == {"synced_count": 2, "updated_count": 2}
    assert TaskTracker.sync_all_unfinished_executions() == {"synced_count": 0, "updated_count": 0}
