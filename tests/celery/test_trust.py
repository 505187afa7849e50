"""One row per execution that can be believed, the way Django projects really call the library.

A real prefork worker runs the tasks (``tests/celery/conftest.py``). Each test here is a
reproduction of a way the row used to go wrong: the worker starting before the registration,
the caller's open transaction, a sync rewriting a finished row, a skipped duplicate counted
as a success.
"""

from __future__ import annotations

import time
import uuid

import pytest
from django.db import transaction
from django.test import override_settings
from rest_framework.test import APIClient

from agentcore_task import (
    TaskStatus,
    TaskTracker,
    dispatch,
    get_task_stats,
    mark_timed_out_executions,
    register_task_execution,
)
from agentcore_task.locks import is_task_locked, lock_name_for_value
from agentcore_task.models import TaskExecution
from agentcore_task.services import celery_sync
from tests.celery.worker import TRACKED, WORKER_TESTS, row_of
from tests.celery_tasks import (
    manual_fail_on_record,
    manual_noop,
    manual_report,
    plain_add,
    release,
    tracked_exclusive,
    tracked_fail_on_record,
    tracked_noop,
)

pytestmark = WORKER_TESTS


def finished(task_id: str) -> bool:
    row = row_of(task_id)
    return row is not None and row.is_completed


# --- the worker starts before the registration ----------------------------------------------


def test_delay_then_register_loses_nothing_when_the_worker_is_first(wait_until):
    """300 ``.delay()`` + ``register_task_execution()`` pairs, 50 ms apart: the README's
    manual pattern. The worker often writes first; its writes create the row."""
    task_ids = []
    for number in range(300):
        result = manual_report.delay(f"job {number}")
        time.sleep(0.05)
        register_task_execution(
            result.id, "tests.manual.report", "reports", task_args=[f"job {number}"]
        )
        task_ids.append(result.id)

    wait_until(
        lambda: TaskExecution.objects.filter(task_id__in=task_ids, status="SUCCESS").count(),
        lambda count: count == len(task_ids),
        timeout=120,
    )
    rows = {row.task_id: row for row in TaskExecution.objects.filter(task_id__in=task_ids)}
    assert len(rows) == 300
    assert not [row for row in rows.values() if row.status == TaskStatus.PENDING]
    for number, task_id in enumerate(task_ids):
        row = rows[task_id]
        assert row.started_at is not None and row.finished_at >= row.started_at
        assert row.metadata["progress_percent"] == 50
        assert row.metadata["progress_message"] == f"job {number}"
        assert row.result == {"label": f"job {number}"}
        # the registration completes a row the worker created: arguments, module kept
        assert row.task_args == [f"job {number}"]
        assert row.task_name == "tests.manual.report"


def test_a_write_for_another_task_id_is_not_invented(caplog):
    """Outside the task the id belongs to, an unknown id still writes nothing (WARNING)."""
    assert TaskTracker.update_progress(str(uuid.uuid4()), percent=5) is None
    assert "no execution with task id" in caplog.text
    assert [r.levelname for r in caplog.records if "no execution" in r.getMessage()] == ["WARNING"]


# --- the caller's transaction ---------------------------------------------------------------


def recorded_duration(task_id: str, wait_until) -> float:
    row = wait_until(lambda: row_of(task_id), lambda r: r is not None and r.is_completed)
    assert row.status == TaskStatus.SUCCESS
    return (row.finished_at - row.started_at).total_seconds()


def test_manual_pattern_inside_a_transaction_held_open_is_recorded_at_once(wait_until):
    with transaction.atomic():
        result = manual_noop.delay()
        register_task_execution(result.id, "tests.manual.noop", "tests")
        time.sleep(3)  # the web request goes on working; the worker runs meanwhile
    assert recorded_duration(result.id, wait_until) < 1.0


@TRACKED
def test_auto_tracking_inside_a_transaction_held_open_does_not_delay_the_worker(wait_until):
    with transaction.atomic():
        # A moment's countdown, so the publish-time registration lands before the worker
        # starts, as it usually does; the worker then must not wait for this commit.
        result = tracked_noop.apply_async(countdown=0.5)
        time.sleep(3)
    assert recorded_duration(result.id, wait_until) < 1.0


def test_a_registration_survives_the_callers_rollback_after_the_message_was_sent(wait_until):
    with pytest.raises(RuntimeError), transaction.atomic():
        result = manual_noop.delay()
        register_task_execution(result.id, "tests.manual.noop", "tests")
        raise RuntimeError("the view failed after sending the task")
    row = wait_until(lambda: row_of(result.id), lambda r: r is not None and r.is_completed)
    assert row.status == TaskStatus.SUCCESS


# --- dispatch() -----------------------------------------------------------------------------


def test_dispatch_inside_a_rolled_back_transaction_sends_nothing_and_leaves_no_row(wait_until):
    with pytest.raises(RuntimeError), transaction.atomic():
        doomed = dispatch(manual_report, ["never"], module="reports")
        assert doomed.pk is not None and doomed.status == TaskStatus.PENDING
        raise RuntimeError("rolled back")
    assert row_of(doomed.task_id) is None

    # A task dispatched after it runs; had the first been sent, the worker (one process,
    # one queue, in order) would have run it, and its writes would have created its row.
    after = dispatch(manual_report, ["after"], module="reports")
    wait_until(lambda: finished(after.task_id), bool)
    assert row_of(doomed.task_id) is None


def test_dispatch_inside_a_transaction_sends_on_commit_with_the_row_in_place(make_user, wait_until):
    user = make_user()
    with transaction.atomic():
        row = dispatch(
            manual_report, ["inside"], module="reports", created_by=user, metadata={"n": 1}
        )
        TaskTracker.update_progress(row.task_id, message="queued")  # sees its uncommitted row
        time.sleep(1)
        assert row_of(row.task_id) is not None
    done = wait_until(lambda: row_of(row.task_id), lambda r: r.is_completed)
    assert (done.status, done.module, done.created_by_id) == ("SUCCESS", "reports", user.pk)
    assert done.task_args == ["inside"] and done.metadata["n"] == 1
    assert done.metadata["progress_message"] == "inside"


def test_dispatch_outside_a_transaction_returns_the_pending_row_before_the_worker_runs(
    wait_until,
):
    row = dispatch(plain_add, [2, 3], countdown=1)
    assert row.pk is not None
    assert (row.status, row.task_name, row.module) == (
        TaskStatus.PENDING,
        "tests.plain.add",
        "tests",
    )
    assert row_of(row.task_id).status == TaskStatus.PENDING
    assert plain_add.AsyncResult(row.task_id).get(timeout=30) == {"sum": 5, "inputs": [2, 3]}


def test_a_publish_that_fails_marks_the_row_failure_and_does_not_raise(caplog):
    row = dispatch(plain_add, [1, 1], serializer="no-such-serializer")
    after = row_of(row.task_id)
    assert after.status == TaskStatus.FAILURE
    assert after.error.startswith("Dispatch failed: the message could not be sent")
    assert "could not send task" in caplog.text


@override_settings(AGENTCORE_TASK_STRICT=True)
def test_a_publish_that_fails_raises_in_strict_mode():
    with pytest.raises(Exception, match="serializer"):
        dispatch(plain_add, [1, 1], serializer="no-such-serializer")


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: dispatch(object()), TypeError),
        (lambda: dispatch(plain_add, "1,2"), TypeError),
        (lambda: dispatch(plain_add, kwargs=[1]), TypeError),
        (lambda: dispatch(plain_add, task_id="mine"), TypeError),
    ],
    ids=["not-a-task", "args-string", "kwargs-list", "task-id"],
)
def test_dispatch_refuses_bad_arguments_before_writing_or_sending(call, error):
    before = TaskExecution.objects.count()
    with pytest.raises(error):
        call()
    assert TaskExecution.objects.count() == before


# --- who wins on a finished row ------------------------------------------------------------


def test_a_failure_the_task_recorded_survives_every_sync(wait_until, make_user):
    staff = make_user(is_staff=True)
    result = manual_fail_on_record.delay()
    register_task_execution(result.id, "tests.manual.fail_on_record", "tests")
    assert result.get(timeout=30) == "returned normally"  # Celery says SUCCESS
    wait_until(lambda: finished(result.id), bool)

    client = APIClient()
    client.force_authenticate(staff)
    status = client.get("/api/v1/tasks/executions/status/", {"task_id": result.id})
    synced = client.post(f"/api/v1/tasks/executions/{status.data['id']}/sync/")
    celery_sync.sync_all_unfinished_executions()
    mark_timed_out_executions(1)

    assert (status.status_code, status.data["status"]) == (200, "FAILURE")
    assert (synced.status_code, synced.data["status"]) == (200, "FAILURE")
    row = row_of(result.id)
    assert (row.status, row.error, row.result) == ("FAILURE", "business rule", None)


@TRACKED
def test_auto_tracking_keeps_the_failure_a_task_recorded_before_returning(wait_until):
    result = tracked_fail_on_record.delay()
    assert result.get(timeout=30) == "returned normally"
    row = wait_until(lambda: row_of(result.id), lambda r: r is not None and r.is_completed)
    time.sleep(0.5)  # the success handler runs after the body
    row = row_of(result.id)
    assert (row.status, row.error, row.result) == ("FAILURE", "business rule", None)


# --- skipped duplicates ---------------------------------------------------------------------


@TRACKED
def test_a_run_skipped_by_the_lock_is_revoked_with_the_reason_not_a_success(wait_until):
    key = uuid.uuid4().hex
    holder = tracked_exclusive.delay(key)
    lock = lock_name_for_value("tests-exclusive", "key", key)
    wait_until(lambda: is_task_locked(lock), bool)  # the worker's run holds the lock
    # The worker has one process: send the duplicate from here, through the same body.
    duplicate = tracked_exclusive.apply(args=(key,))
    release(key)
    assert holder.get(timeout=30) == "released"
    wait_until(lambda: row_of(holder.id), lambda r: r.status == TaskStatus.SUCCESS)

    skipped = row_of(duplicate.id)
    assert skipped.status == TaskStatus.REVOKED
    assert skipped.metadata["skipped"] is True
    assert skipped.metadata["skip_reason"] == "task_already_running"
    stats = get_task_stats(task_name="tests.tracked.exclusive")
    assert (stats["success"], stats["revoked"]) == (1, 1)
