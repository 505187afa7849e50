"""Cleanup and timeout marking on real rows: exactly the right rows, in batches, short locks."""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid

import psycopg
import pytest
from celery import current_app
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext, override_settings

from agentcore_task.models import TaskExecution
from agentcore_task.services import maintenance
from agentcore_task.services.maintenance import (
    cleanup_old_executions,
    count_old_executions,
    count_timed_out_executions,
    mark_timed_out_executions,
    timeout_error,
)
from agentcore_task.services.tracker import TaskTracker
from agentcore_task.status import TaskStatus

STATUSES = TaskStatus.get_all_statuses()
TERMINAL = set(TaskStatus.get_completed_statuses())


def insert_row(
    status: str,
    created_ago: dt.timedelta,
    started_ago: dt.timedelta | None = None,
    metadata: str = "{}",
) -> int:
    """Insert one execution with backdated times, as a DBA's INSERT would; return its id."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO agentcore_task_execution (task_id, task_name, module, status,
                created_at, started_at, metadata)
            VALUES (%s, 'tests.tasks.old', 'tests', %s, now() - %s::interval,
                    now() - %s::interval, %s::jsonb)
            RETURNING id
            """,
            [str(uuid.uuid4()), status, created_ago, started_ago, metadata],
        )
        return int(cursor.fetchone()[0])


def remaining_ids() -> set[int]:
    return set(TaskExecution.objects.values_list("id", flat=True))


def delete_statements(queries: CaptureQueriesContext) -> int:
    return sum("DELETE FROM agentcore_task_execution" in query["sql"] for query in queries)


# --- cleanup -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("only_completed", [True, False])
@pytest.mark.parametrize("seed", [1, 2])
def test_cleanup_deletes_exactly_the_rows_a_brute_force_count_picks(only_completed, seed):
    draw = random.Random(seed)
    rows = {}
    for _ in range(150):
        # Half days, so no row sits within seconds of the cutoff.
        age = dt.timedelta(days=draw.randrange(0, 60), hours=12)
        status = draw.choice(STATUSES)
        rows[insert_row(status, age)] = (status, age)
    retention = 30
    expected_deleted = {
        pk
        for pk, (status, age) in rows.items()
        if age > dt.timedelta(days=retention) and (status in TERMINAL or not only_completed)
    }

    assert count_old_executions(retention, only_completed) == len(expected_deleted)
    with CaptureQueriesContext(connection) as queries:
        result = cleanup_old_executions(retention, only_completed, batch_size=7)

    assert remaining_ids() == set(rows) - expected_deleted
    assert result["deleted"] == len(expected_deleted)
    # Full batches, then the one that came back short (empty when the count divides evenly).
    assert result["batches"] == len(expected_deleted) // 7 + 1
    assert delete_statements(queries) == result["batches"]
    assert (result["retention_days"], result["only_completed"], result["batch_size"]) == (
        retention,
        only_completed,
        7,
    )
    cutoff = dt.datetime.fromisoformat(result["cutoff"])
    assert abs(cutoff - (dt.datetime.now(dt.UTC) - dt.timedelta(days=retention))) < dt.timedelta(
        minutes=1
    )


@pytest.mark.django_db(transaction=True)
def test_cleanup_reports_each_batch_and_takes_its_defaults_from_the_settings():
    for _ in range(5):
        insert_row("PENDING", dt.timedelta(days=6))
    kept = insert_row("SUCCESS", dt.timedelta(days=4))
    seen = []
    with override_settings(
        AGENTCORE_TASK_RETENTION_DAYS=5,
        AGENTCORE_TASK_CLEANUP_ONLY_COMPLETED=False,
        AGENTCORE_TASK_CLEANUP_BATCH_SIZE=2,
    ):
        result = cleanup_old_executions(on_batch=lambda batch, total: seen.append((batch, total)))

    assert remaining_ids() == {kept}
    assert (result["deleted"], result["batches"]) == (5, 3)
    assert (result["retention_days"], result["only_completed"], result["batch_size"]) == (
        5,
        False,
        2,
    )
    assert seen == [(2, 2), (2, 4), (1, 5)]


@pytest.mark.django_db(transaction=True)
def test_default_cleanup_keeps_unfinished_rows_and_rows_younger_than_30_days():
    old_done = insert_row("SUCCESS", dt.timedelta(days=31))
    old_running = insert_row("STARTED", dt.timedelta(days=31), dt.timedelta(days=31))
    young_done = insert_row("FAILURE", dt.timedelta(days=29))

    result = cleanup_old_executions()

    assert remaining_ids() == {old_running, young_done}
    assert old_done not in remaining_ids()
    assert (result["retention_days"], result["only_completed"], result["batch_size"]) == (
        30,
        True,
        5000,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"retention_days": 0}, ValueError),
        ({"retention_days": -3}, ValueError),
        ({"retention_days": "30"}, TypeError),
        ({"retention_days": True}, TypeError),
        ({"retention_days": 2.5}, TypeError),
        ({"only_completed": "yes"}, TypeError),
        ({"only_completed": 1}, TypeError),
        ({"batch_size": 0}, ValueError),
        ({"batch_size": "many"}, TypeError),
    ],
)
def test_cleanup_refuses_bad_arguments_before_deleting_anything(arguments, error):
    pk = insert_row("SUCCESS", dt.timedelta(days=400))
    with pytest.raises(error, match=next(iter(arguments))):
        cleanup_old_executions(**arguments)
    assert remaining_ids() == {pk}


@pytest.mark.django_db(transaction=True)
def test_cleanup_refuses_to_run_inside_the_callers_transaction():
    pk = insert_row("SUCCESS", dt.timedelta(days=400))
    with (
        pytest.raises(TransactionManagementError, match="outside the atomic block"),
        transaction.atomic(),
    ):
        cleanup_old_executions()
    assert remaining_ids() == {pk}


@pytest.mark.django_db(transaction=True)
def test_cleanup_skips_a_row_another_transaction_holds_instead_of_waiting_for_it():
    held = insert_row("SUCCESS", dt.timedelta(days=400))
    others = {insert_row("SUCCESS", dt.timedelta(days=400)) for _ in range(3)}
    url = connection.settings_dict
    with psycopg.connect(
        dbname=url["NAME"], user=url["USER"], host=url["HOST"], port=url["PORT"] or 5432
    ) as other:
        other.execute("SELECT 1 FROM agentcore_task_execution WHERE id = %s FOR UPDATE", [held])
        started = time.monotonic()
        result = cleanup_old_executions(batch_size=2)
        elapsed = time.monotonic() - started
        other.rollback()

    assert elapsed < 2.0
    assert result["deleted"] == len(others)
    assert remaining_ids() == {held}


# --- timeout marking -------------------------------------------------------------------------


@pytest.fixture
def no_sync(monkeypatch):
    """Record the sync call instead of asking Celery (the marking itself is under test)."""
    calls = []

    def record(max_sync=None):
        calls.append(max_sync)
        return {"synced_count": 0, "updated_count": 0}

    monkeypatch.setattr(TaskTracker, "sync_all_unfinished_executions", staticmethod(record))
    return calls


@pytest.mark.django_db
def test_timeout_marks_exactly_the_stale_started_rows(no_sync):
    minutes = dt.timedelta(minutes=1)
    stale = insert_row("STARTED", 60 * minutes, 11 * minutes, '{"progress_percent": 40}')
    also_stale = insert_row("STARTED", 600 * minutes, 300 * minutes)
    untouched = {
        insert_row("STARTED", 60 * minutes, 9 * minutes): "STARTED",  # not long enough
        insert_row("PENDING", 600 * minutes): "PENDING",  # never started
        insert_row("RETRY", 600 * minutes, 300 * minutes): "RETRY",  # waiting for a retry
        insert_row("SUCCESS", 600 * minutes, 300 * minutes): "SUCCESS",
        insert_row("REVOKED", 600 * minutes, 300 * minutes): "REVOKED",
    }

    assert count_timed_out_executions(10) == 2
    result = mark_timed_out_executions(10)

    assert (result["marked"], result["timeout_minutes"]) == (2, 10)
    assert no_sync == [1000]  # AGENTCORE_TASK_TIMEOUT_SYNC_MAX's default
    for pk in (stale, also_stale):
        row = TaskExecution.objects.get(pk=pk)
        assert row.status == TaskStatus.FAILURE
        assert row.error == timeout_error(10)
        assert "Timed out: still STARTED after 10 minutes" in row.error
        assert row.finished_at is not None
    assert TaskExecution.objects.get(pk=stale).metadata == {"progress_percent": 40}
    for pk, status in untouched.items():
        row = TaskExecution.objects.get(pk=pk)
        assert (row.status, row.error, row.finished_at is None) == (
            status,
            None,
            status not in TERMINAL,
        )


@pytest.mark.django_db
def test_timeout_defaults_come_from_the_settings_and_the_sync_cap_is_applied(no_sync):
    pk = insert_row("STARTED", dt.timedelta(hours=1), dt.timedelta(minutes=4))
    with override_settings(AGENTCORE_TASK_TIMEOUT_MINUTES=3, AGENTCORE_TASK_TIMEOUT_SYNC_MAX=7):
        result = mark_timed_out_executions()
    assert (result["marked"], result["timeout_minutes"], no_sync) == (1, 3, [7])
    assert TaskExecution.objects.get(pk=pk).error == timeout_error(3)


@pytest.mark.django_db
def test_timeout_without_sync_does_not_ask_celery(no_sync):
    insert_row("STARTED", dt.timedelta(hours=1), dt.timedelta(minutes=40))
    result = mark_timed_out_executions(30, sync=False)
    assert (result["marked"], result["synced_count"], no_sync) == (1, 0, [])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"timeout_minutes": 0}, ValueError),
        ({"timeout_minutes": "10"}, TypeError),
        ({"timeout_minutes": False}, TypeError),
        ({"sync": "no"}, TypeError),
    ],
)
def test_timeout_refuses_bad_arguments_before_writing(no_sync, arguments, error):
    pk = insert_row("STARTED", dt.timedelta(hours=1), dt.timedelta(minutes=40))
    with pytest.raises(error):
        mark_timed_out_executions(**arguments)
    assert TaskExecution.objects.get(pk=pk).status == TaskStatus.STARTED
    assert no_sync == []


@pytest.mark.django_db
def test_timeout_syncs_from_celery_first_so_a_finished_task_is_not_marked():
    finished = insert_row("STARTED", dt.timedelta(hours=2), dt.timedelta(hours=1))
    stuck = insert_row("STARTED", dt.timedelta(hours=2), dt.timedelta(hours=1))
    finished_id = TaskExecution.objects.get(pk=finished).task_id
    current_app.backend.store_result(finished_id, {"rows": 3}, "SUCCESS")
    try:
        result = mark_timed_out_executions(10)
    finally:
        current_app.backend.forget(finished_id)

    assert (result["marked"], result["updated_count"]) == (1, 1)
    assert result["synced_count"] >= 2
    row = TaskExecution.objects.get(pk=finished)
    assert (row.status, row.result, row.error) == (TaskStatus.SUCCESS, {"rows": 3}, None)
    assert TaskExecution.objects.get(pk=stuck).status == TaskStatus.FAILURE


@pytest.mark.django_db
def test_a_marked_execution_that_really_finishes_later_records_its_success(no_sync):
    pk = insert_row("STARTED", dt.timedelta(hours=2), dt.timedelta(hours=1))
    mark_timed_out_executions(10)
    task_id = TaskExecution.objects.get(pk=pk).task_id

    TaskTracker.update_task_status(task_id, TaskStatus.SUCCESS, result="late but fine")

    row = TaskExecution.objects.get(pk=pk)
    assert (row.status, row.result) == (TaskStatus.SUCCESS, "late but fine")


def test_the_defaults_are_looked_up_in_one_place_each(monkeypatch):
    # The runtime configuration (database > settings > default) answers; see runtime_config.
    monkeypatch.setattr(
        "agentcore_task.runtime_config.effective_retention_days", lambda: 11, raising=True
    )
    monkeypatch.setattr(
        "agentcore_task.runtime_config.effective_timeout_minutes", lambda: 12, raising=True
    )
    assert (maintenance._retention_days(), maintenance._timeout_minutes()) == (11, 12)
