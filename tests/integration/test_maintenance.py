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
    never_started_error,
    timeout_error,
)
from agentcore_task.services.tracker import TaskTracker
from agentcore_task.status import TaskStatus
from tests.rows import backdate, execute_with_rules_lifted

STATUSES = TaskStatus.get_all_statuses()
TERMINAL = set(TaskStatus.get_completed_statuses())


def insert_row(
    status: str,
    created_ago: dt.timedelta,
    started_ago: dt.timedelta | None = None,
    metadata: str = "{}",
    *,
    silent_for: dt.timedelta | None = None,
    task_name: str = "tests.tasks.old",
) -> int:
    """Insert one execution with backdated times, as a DBA importing rows would; return its id.

    ``silent_for`` is the age of its last write (its heartbeat); by default its start, or its
    creation when it never started.
    """
    heartbeat = silent_for if silent_for is not None else started_ago or created_ago
    row = execute_with_rules_lifted(
        """
        INSERT INTO agentcore_task_execution (task_id, task_name, module, status,
            created_at, started_at, updated_at, finished_at, metadata)
        VALUES (%s, %s, 'tests', %s, now() - %s::interval, now() - %s::interval,
                now() - %s::interval,
                CASE WHEN %s IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN now() END, %s::jsonb)
        RETURNING id
        """,
        [
            str(uuid.uuid4()),
            task_name,
            status,
            created_ago,
            started_ago,
            heartbeat,
            status,
            metadata,
        ],
    )
    return int(row[0])


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


MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def task_id_of(pk: int) -> str:
    return TaskExecution.objects.get(pk=pk).task_id


@pytest.mark.django_db
def test_timeout_marks_exactly_the_running_rows_without_a_sign_of_life(asked):
    stale = insert_row(
        "STARTED", 60 * MINUTE, 60 * MINUTE, '{"progress_percent": 40}', silent_for=11 * MINUTE
    )
    stale_retry = insert_row("RETRY", 600 * MINUTE, 300 * MINUTE)
    untouched = {
        insert_row("STARTED", 60 * MINUTE, 9 * MINUTE): "STARTED",  # not long enough
        # Started ten hours ago, reported progress a second ago: alive, however long it runs.
        insert_row(
            "STARTED", 600 * MINUTE, 600 * MINUTE, silent_for=dt.timedelta(seconds=1)
        ): "STARTED",
        insert_row("PENDING", 600 * MINUTE): "PENDING",  # never started, not stale yet
        insert_row("SUCCESS", 600 * MINUTE, 300 * MINUTE): "SUCCESS",
        insert_row("REVOKED", 600 * MINUTE, 300 * MINUTE): "REVOKED",
    }

    assert count_timed_out_executions(10) == 2
    result = mark_timed_out_executions(10)

    assert (result["marked"], result["timeout_minutes"], result["pending_marked"]) == (2, 10, 0)
    assert sorted(asked) == sorted([task_id_of(stale), task_id_of(stale_retry)]), (
        "exactly the rows about to be marked are synced first"
    )
    assert result["synced_count"] == 2
    for pk in (stale, stale_retry):
        row = TaskExecution.objects.get(pk=pk)
        assert (row.status, row.timed_out) == (TaskStatus.FAILURE, True)
        assert row.error == timeout_error(10)
        assert "no sign of life for 10 minutes" in row.error
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
def test_a_progress_update_keeps_a_long_task_from_being_marked(make_execution):
    row = make_execution(initial_status=TaskStatus.STARTED)
    backdate(row.pk, started_ago=3 * HOUR)  # started three hours ago, silent since
    assert count_timed_out_executions(1) == 1

    TaskTracker.update_progress(row.task_id, percent=99)  # a heartbeat

    assert mark_timed_out_executions(1)["marked"] == 0
    assert TaskExecution.objects.get(pk=row.pk).status == TaskStatus.STARTED


@pytest.mark.django_db
def test_timeout_defaults_come_from_the_settings_and_the_sync_cap_is_applied(asked):
    pk = insert_row("STARTED", HOUR, 4 * MINUTE)
    insert_row("STARTED", HOUR, 5 * MINUTE)
    with override_settings(AGENTCORE_TASK_TIMEOUT_MINUTES=3, AGENTCORE_TASK_TIMEOUT_SYNC_MAX=1):
        result = mark_timed_out_executions()
    assert (result["marked"], result["timeout_minutes"], len(asked)) == (2, 3, 1)
    assert TaskExecution.objects.get(pk=pk).error == timeout_error(3)


@pytest.mark.django_db
def test_per_task_timeouts_from_the_task_option_and_the_settings_patterns(asked):
    # tests.tracked.long declares agentcore_timeout_minutes=120; the job reads it from the
    # task registry of the process it runs in, as a worker has it.
    import tests.celery_tasks  # noqa: F401

    own_option = insert_row("STARTED", 5 * HOUR, 90 * MINUTE, task_name="tests.tracked.long")
    own_past = insert_row("STARTED", 5 * HOUR, 150 * MINUTE, task_name="tests.tracked.long")
    by_pattern = insert_row("STARTED", 5 * HOUR, 50 * MINUTE, task_name="reports.monthly")
    by_pattern_past = insert_row("STARTED", 5 * HOUR, 70 * MINUTE, task_name="reports.daily")
    quick = insert_row("STARTED", 5 * HOUR, 3 * MINUTE, task_name="ping.fast")
    default = insert_row("STARTED", 5 * HOUR, 20 * MINUTE)

    with override_settings(
        AGENTCORE_TASK_TIMEOUT_OVERRIDES={"reports.*": 60, "ping.*": 2, "tests.tracked.*": 5}
    ):
        result = mark_timed_out_executions(10)

    marked = set(TaskExecution.objects.filter(status="FAILURE").values_list("pk", flat=True))
    assert marked == {own_past, by_pattern_past, quick, default}
    assert result["marked"] == 4
    assert TaskExecution.objects.get(pk=own_option).status == TaskStatus.STARTED
    assert TaskExecution.objects.get(pk=by_pattern).status == TaskStatus.STARTED
    assert "120 minutes" in TaskExecution.objects.get(pk=own_past).error
    assert "2 minutes" in TaskExecution.objects.get(pk=quick).error


@pytest.mark.parametrize("overrides", [[("a.*", 5)], {"a.*": 0}, {"a.*": "5"}, {"": 5}], ids=str)
def test_bad_timeout_overrides_are_refused_naming_the_setting(overrides):
    with (
        override_settings(AGENTCORE_TASK_TIMEOUT_OVERRIDES=overrides),
        pytest.raises((TypeError, ValueError), match="AGENTCORE_TASK_TIMEOUT_OVERRIDES"),
    ):
        mark_timed_out_executions(10)


@pytest.mark.django_db
def test_timeout_without_sync_does_not_ask_celery(asked):
    insert_row("STARTED", HOUR, 40 * MINUTE)
    result = mark_timed_out_executions(30, sync=False)
    assert (result["marked"], result["synced_count"], asked) == (1, 0, [])


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
def test_timeout_refuses_bad_arguments_before_writing(asked, arguments, error):
    pk = insert_row("STARTED", HOUR, 40 * MINUTE)
    with pytest.raises(error):
        mark_timed_out_executions(**arguments)
    assert TaskExecution.objects.get(pk=pk).status == TaskStatus.STARTED
    assert asked == []


@pytest.mark.django_db
def test_timeout_syncs_from_celery_first_so_a_finished_task_is_not_marked():
    finished = insert_row("STARTED", 2 * HOUR, HOUR)
    stuck = insert_row("STARTED", 2 * HOUR, HOUR)
    finished_id = task_id_of(finished)
    current_app.backend.store_result(finished_id, {"rows": 3}, "SUCCESS")
    try:
        result = mark_timed_out_executions(10)
    finally:
        current_app.backend.forget(finished_id)

    assert (result["marked"], result["updated_count"], result["synced_count"]) == (1, 1, 2)
    row = TaskExecution.objects.get(pk=finished)
    assert (row.status, row.result, row.error) == (TaskStatus.SUCCESS, {"rows": 3}, None)
    assert TaskExecution.objects.get(pk=stuck).status == TaskStatus.FAILURE


@pytest.mark.django_db
def test_old_pending_rows_do_not_starve_the_sync_of_the_rows_about_to_be_marked():
    for _ in range(5):  # older than the running row, unknown to Celery
        insert_row("PENDING", 3 * HOUR)
    finished = insert_row("STARTED", 2 * HOUR, HOUR)
    finished_id = task_id_of(finished)
    current_app.backend.store_result(finished_id, "done", "SUCCESS")
    try:
        with override_settings(AGENTCORE_TASK_TIMEOUT_SYNC_MAX=2):
            result = mark_timed_out_executions(10)
    finally:
        current_app.backend.forget(finished_id)

    assert result["marked"] == 0
    assert TaskExecution.objects.get(pk=finished).status == TaskStatus.SUCCESS


@pytest.mark.django_db
def test_a_marked_execution_that_really_finishes_later_records_its_success():
    pk = insert_row("STARTED", 2 * HOUR, HOUR)
    mark_timed_out_executions(10)
    task_id = task_id_of(pk)

    TaskTracker.update_task_status(task_id, TaskStatus.SUCCESS, result="late but fine")

    row = TaskExecution.objects.get(pk=pk)
    assert (row.status, row.result, row.error, row.timed_out) == (
        TaskStatus.SUCCESS,
        "late but fine",
        None,
        False,
    )


# --- stale PENDING ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_pending_row_celery_never_heard_of_becomes_failure_after_the_pending_timeout():
    lost = insert_row("PENDING", 25 * HOUR)
    started_meanwhile = insert_row("PENDING", 25 * HOUR)
    recent = insert_row("PENDING", 23 * HOUR)
    started_id = task_id_of(started_meanwhile)
    current_app.backend.store_result(started_id, None, "STARTED")
    try:
        result = mark_timed_out_executions(10)
    finally:
        current_app.backend.forget(started_id)

    assert result["pending_marked"] == 1
    row = TaskExecution.objects.get(pk=lost)
    assert (row.status, row.timed_out) == (TaskStatus.FAILURE, True)
    assert row.error == never_started_error(1440)
    assert "Never started" in row.error
    assert TaskExecution.objects.get(pk=started_meanwhile).status == TaskStatus.STARTED
    assert TaskExecution.objects.get(pk=recent).status == TaskStatus.PENDING


@pytest.mark.django_db
def test_the_pending_timeout_is_a_setting(asked):
    pk = insert_row("PENDING", 2 * HOUR)
    with override_settings(AGENTCORE_TASK_PENDING_TIMEOUT_MINUTES=60):
        result = mark_timed_out_executions(10)
    assert (result["pending_marked"], result["pending_timeout_minutes"]) == (1, 60)
    assert asked == [task_id_of(pk)]
    assert "60 minutes" in TaskExecution.objects.get(pk=pk).error


@pytest.mark.django_db
def test_stale_pending_rows_are_left_alone_when_the_result_backend_is_down(monkeypatch):
    from celery.backends.redis import RedisBackend

    from tests.integration.test_failure_policy import closed_port

    pk = insert_row("PENDING", 25 * HOUR)
    dead = RedisBackend(app=current_app, url=f"redis://127.0.0.1:{closed_port()}/0")
    monkeypatch.setattr(current_app._local, "backend", dead, raising=False)

    result = mark_timed_out_executions(10)

    assert result["pending_marked"] == 0
    assert TaskExecution.objects.get(pk=pk).status == TaskStatus.PENDING


def test_the_defaults_are_looked_up_in_one_place_each(monkeypatch):
    # The runtime configuration (database > settings > default) answers; see runtime_config.
    monkeypatch.setattr(
        "agentcore_task.runtime_config.effective_retention_days", lambda: 11, raising=True
    )
    monkeypatch.setattr(
        "agentcore_task.runtime_config.effective_timeout_minutes", lambda: 12, raising=True
    )
    assert (maintenance._retention_days(), maintenance._timeout_minutes()) == (11, 12)
