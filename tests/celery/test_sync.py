"""Sync from Celery against the real Redis result backend, states stored as a worker stores them.

No worker here: ``backend.store_result`` writes exactly what a worker writes, so every state
(including ones a worker reaches only by racing, like STARTED after SUCCESS) can be set up
on purpose. ``test_worker_states.py`` produces the same states with a real worker.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import re
from collections.abc import Callable, Iterator

import pytest
from celery import states
from celery.backends.base import DisabledBackend
from celery.backends.redis import RedisBackend
from celery.exceptions import TaskRevokedError
from django.db import connection

from agentcore_task.models import TaskExecution
from agentcore_task.services import celery_sync
from agentcore_task.services.tracker import TaskTracker
from agentcore_task.status import TaskStatus
from tests.celery_app import app
from tests.integration.test_failure_policy import closed_port

TRACEBACK = 'Traceback (most recent call last):\n  File "t.py", line 1\nValueError: boom\n'


@pytest.fixture
def celery_state() -> Iterator[Callable[..., None]]:
    """Return ``store(task_id, state, result=None, traceback=None)`` writing the backend."""
    stored: list[str] = []

    def store(task_id: str, state: str, result: object = None, traceback: str | None = None):
        app.backend.store_result(task_id, result, state, traceback=traceback)
        stored.append(task_id)

    yield store
    for task_id in stored:
        app.backend.forget(task_id)


def reload(row: TaskExecution) -> TaskExecution:
    return TaskExecution.objects.get(pk=row.pk)


def test_celery_has_never_heard_of_the_task_so_the_row_is_unchanged(make_execution):
    row = make_execution()

    outcome = celery_sync.sync_execution(row.task_id)

    assert (outcome.row.status, outcome.changed, outcome.error) == ("PENDING", False, None)
    assert reload(row).updated_at == row.updated_at  # nothing was written


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (states.STARTED, TaskStatus.STARTED),
        ("PROGRESS", TaskStatus.STARTED),  # a custom state: the task is running
        (states.RETRY, TaskStatus.RETRY),
        (states.REVOKED, TaskStatus.REVOKED),
    ],
)
def test_sync_copies_the_state_of_a_pending_row(make_execution, celery_state, state, expected):
    row = make_execution()
    celery_state(row.task_id, state, result={"done": 1} if state == "PROGRESS" else None)

    synced = TaskTracker.sync_task_from_celery(row.task_id)

    assert synced.status == expected
    stored = reload(row)
    assert stored.status == expected
    assert stored.started_at is not None or expected == TaskStatus.REVOKED
    assert (stored.finished_at is not None) == (expected == TaskStatus.REVOKED)


def test_sync_copies_a_success_and_its_result_made_json_safe(make_execution, celery_state):
    row = make_execution()
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    celery_state(
        row.task_id, states.SUCCESS, {"when": when, "amount": decimal.Decimal("1.50"), "n": 3}
    )

    TaskTracker.sync_task_from_celery(row.task_id)

    stored = reload(row)
    assert stored.status == TaskStatus.SUCCESS
    assert stored.result == {"when": "2024-05-06T07:08:09+00:00", "amount": "1.50", "n": 3}
    assert stored.finished_at is not None


def test_sync_copies_a_failure_with_its_error_and_traceback(make_execution, celery_state):
    row = make_execution(initial_status=TaskStatus.STARTED)
    celery_state(row.task_id, states.FAILURE, ValueError("boom"), traceback=TRACEBACK)

    TaskTracker.sync_task_from_celery(row.task_id)

    stored = reload(row)
    assert stored.status == TaskStatus.FAILURE
    assert stored.error == "ValueError: boom"
    assert stored.traceback == TRACEBACK


@pytest.mark.parametrize(
    "row_status", [TaskStatus.STARTED, TaskStatus.RETRY, TaskStatus.SUCCESS, TaskStatus.FAILURE]
)
def test_celery_pending_never_downgrades_a_running_or_finished_row(
    make_execution, celery_state, row_status
):
    row = make_execution()
    TaskTracker.update_task_status(row.task_id, row_status)
    celery_state(row.task_id, states.PENDING)

    outcome = celery_sync.sync_execution(row.task_id)

    assert not outcome.changed
    assert reload(row).status == row_status


@pytest.mark.parametrize("state", [states.STARTED, states.RETRY, "PROGRESS"])
@pytest.mark.parametrize("row_status", TaskStatus.get_completed_statuses())
def test_a_finished_row_is_not_reopened_by_a_running_state(
    make_execution, celery_state, state, row_status
):
    row = make_execution()
    TaskTracker.update_task_status(row.task_id, row_status)
    celery_state(row.task_id, state)

    outcome = celery_sync.sync_execution(row.task_id)

    assert not outcome.changed
    stored = reload(row)
    assert stored.status == row_status
    assert stored.finished_at is not None


def test_the_database_keeps_a_row_finished_when_it_ended_after_the_sync_read_it(
    make_execution, celery_state
):
    """The sync decides from the row it read; the trigger covers the row ending meanwhile."""
    row = make_execution()
    celery_state(row.task_id, states.STARTED)
    TaskTracker.update_task_status(row.task_id, TaskStatus.SUCCESS, result=1)

    written, error, _state = celery_sync._apply_celery_state(row.task_id, TaskStatus.PENDING)

    assert error is None
    assert written.status == TaskStatus.SUCCESS  # the STARTED write kept the terminal status
    assert reload(row).result == 1


def test_a_custom_state_does_not_rewrite_a_started_row(make_execution, celery_state):
    row = make_execution(initial_status=TaskStatus.STARTED)
    celery_state(row.task_id, "PROGRESS", {"done": 1})

    outcome = celery_sync.sync_execution(row.task_id)

    assert not outcome.changed
    assert reload(row).updated_at == row.updated_at


def mark_timed_out(row) -> None:
    """Write what the timeout job writes: FAILURE, timed_out, its error."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE agentcore_task_execution SET status = 'FAILURE', timed_out = true,"
            " error = 'Timed out' WHERE id = %s",
            [row.pk],
        )


def test_a_row_the_timeout_job_failed_takes_celerys_later_success(make_execution, celery_state):
    row = make_execution(initial_status=TaskStatus.STARTED)
    mark_timed_out(row)
    celery_state(row.task_id, states.SUCCESS, {"ok": True})

    outcome = celery_sync.sync_execution(row.task_id)

    assert outcome.changed
    after = reload(row)
    assert (after.status, after.result, after.error, after.timed_out) == (
        "SUCCESS",
        {"ok": True},
        None,
        False,
    )


def test_a_row_the_timeout_job_failed_takes_celerys_real_error(make_execution, celery_state):
    row = make_execution(initial_status=TaskStatus.STARTED)
    mark_timed_out(row)
    celery_state(row.task_id, states.FAILURE, ValueError("the real cause"))

    celery_sync.sync_execution(row.task_id)

    after = reload(row)
    assert (after.status, after.timed_out) == ("FAILURE", False)
    assert "the real cause" in after.error


@pytest.mark.parametrize("recorded", ["FAILURE", "REVOKED", "SUCCESS"])
def test_a_status_the_application_recorded_is_never_replaced_by_a_sync(
    make_execution, celery_state, recorded, asked
):
    row = make_execution(initial_status=TaskStatus.STARTED)
    TaskTracker.update_task_status(row.task_id, recorded, error="recorded by the task")
    celery_state(row.task_id, states.SUCCESS if recorded != "SUCCESS" else states.FAILURE, 1)

    outcome = celery_sync.sync_execution(row.task_id)

    assert not outcome.changed and asked == [], "a finished row is not even looked up"
    assert reload(row).status == recorded


def test_sync_of_an_unknown_task_id_returns_none(db):
    assert TaskTracker.sync_task_from_celery("no-such-task") is None


def test_get_task_syncs_unless_told_not_to(make_execution, celery_state):
    row = make_execution()
    celery_state(row.task_id, states.STARTED)

    assert TaskTracker.get_task(row.task_id, sync=False).status == TaskStatus.PENDING
    assert TaskTracker.get_task(row.task_id).status == TaskStatus.STARTED


def test_sync_methods_work_on_the_class_and_on_an_instance(make_execution, celery_state):
    first, second = make_execution(), make_execution()
    celery_state(first.task_id, states.STARTED)
    celery_state(second.task_id, states.STARTED)

    assert TaskTracker().sync_task_from_celery(first.task_id).status == TaskStatus.STARTED
    assert TaskTracker.sync_task_from_celery(second.task_id).status == TaskStatus.STARTED
    assert TaskTracker().sync_all_unfinished_executions(max_sync=0) == {
        "synced_count": 0,
        "updated_count": 0,
    }


# --- the result backend cannot be read ------------------------------------------------------


def dead_redis_backend() -> RedisBackend:
    return RedisBackend(app=app, url=f"redis://127.0.0.1:{closed_port()}/0")


@pytest.mark.parametrize(
    "backend",
    [dead_redis_backend, lambda: DisabledBackend(app)],
    ids=["redis-down", "no-result-backend"],
)
def test_an_unreadable_backend_leaves_the_row_unchanged_and_logs_one_error(
    make_execution, monkeypatch, caplog, backend
):
    row = make_execution()
    monkeypatch.setattr(app._local, "backend", backend(), raising=False)
    caplog.set_level(logging.ERROR, logger="agentcore_task")

    outcome = celery_sync.sync_execution(row.task_id)

    assert outcome.row.pk == row.pk and outcome.row.status == TaskStatus.PENDING
    assert not outcome.changed
    assert "result backend could not be read" in outcome.error
    assert reload(row).updated_at == row.updated_at
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and row.task_id in errors[0].getMessage()
    # and through the tracker: the row comes back, nothing raises
    assert TaskTracker.get_task(row.task_id).status == TaskStatus.PENDING


# --- sync_all_unfinished_executions ---------------------------------------------------------


def test_sync_all_asks_about_unfinished_rows_oldest_first_and_counts_real_changes(
    make_execution, celery_state, asked
):
    finished = make_execution()
    TaskTracker.update_task_status(finished.task_id, TaskStatus.SUCCESS)
    unknown = make_execution()  # Celery says PENDING: synced, not updated
    started = make_execution(initial_status=TaskStatus.STARTED)
    celery_state(started.task_id, "PROGRESS")  # already STARTED: synced, not updated
    succeeded = make_execution()
    celery_state(succeeded.task_id, states.SUCCESS, 42)
    failed = make_execution(initial_status=TaskStatus.STARTED)
    celery_state(failed.task_id, states.FAILURE, ValueError("x"), traceback=TRACEBACK)

    summary = TaskTracker.sync_all_unfinished_executions()

    assert summary == {"synced_count": 4, "updated_count": 2}
    assert asked == [unknown.task_id, started.task_id, succeeded.task_id, failed.task_id]
    assert reload(succeeded).result == 42
    assert reload(failed).status == TaskStatus.FAILURE


def test_sync_all_asks_at_most_max_sync_executions(make_execution, celery_state, asked):
    rows = [make_execution() for _ in range(5)]
    for row in rows:
        celery_state(row.task_id, states.SUCCESS, 1)

    summary = TaskTracker.sync_all_unfinished_executions(max_sync=3)

    assert summary == {"synced_count": 3, "updated_count": 3}
    assert asked == [row.task_id for row in rows[:3]]
    assert [reload(row).status for row in rows] == ["SUCCESS"] * 3 + ["PENDING"] * 2


def test_sync_all_pages_through_a_backlog_larger_than_a_page(make_execution, monkeypatch, asked):
    monkeypatch.setattr(celery_sync, "_PAGE_SIZE", 2)
    rows = [make_execution() for _ in range(5)]

    assert TaskTracker.sync_all_unfinished_executions()["synced_count"] == 5
    assert asked == [row.task_id for row in rows]


def test_sync_all_stops_when_the_backend_is_down(make_execution, monkeypatch, caplog):
    for _ in range(6):
        make_execution()
    monkeypatch.setattr(app._local, "backend", dead_redis_backend(), raising=False)
    caplog.set_level(logging.ERROR, logger="agentcore_task")

    summary = TaskTracker.sync_all_unfinished_executions()

    assert summary == {"synced_count": 0, "updated_count": 0}
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == celery_sync.MAX_FAILURES_IN_A_ROW + 1
    assert "stopped syncing" in errors[-1]


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True])
def test_sync_all_rejects_a_bad_cap(db, bad):
    with pytest.raises(ValueError, match="max_sync"):
        TaskTracker.sync_all_unfinished_executions(max_sync=bad)


def test_sync_all_uses_the_partial_index_of_unfinished_rows(make_execution):
    make_execution()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        sql, params = (
            TaskExecution.objects.filter(status__in=["PENDING", "STARTED", "RETRY"])
            .order_by("created_at", "id")
            .values_list("task_id")[:500]
            .query.sql_with_params()
        )
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    # Either partial index of the unfinished rows serves (both hold exactly those rows, and
    # PostgreSQL takes the smaller); never an index of the whole table.
    used = set(re.findall(r"(?:Index Scan using|Bitmap Index Scan on) (\w+)", plan))
    assert used, plan
    assert used <= {"agentcore_task_unfinished", "agentcore_task_user_unfinished"}, plan


def test_revoked_state_is_copied_from_celerys_revoke_exception(make_execution, celery_state):
    row = make_execution()
    celery_state(row.task_id, states.REVOKED, TaskRevokedError("terminated"))

    assert TaskTracker.sync_task_from_celery(row.task_id).status == TaskStatus.REVOKED
