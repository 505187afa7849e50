"""The database's status rules, through the library and through a DBA's raw SQL."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from agentcore_task.models import TaskExecution
from agentcore_task.services.tracker import TaskTracker
from agentcore_task.status import TaskStatus

pytestmark = pytest.mark.smoke  # also runs against the embedded servers in CI


def raw(sql: str, params: list[object] | None = None) -> None:
    """Run SQL the way a DBA would in psql: no ORM, no library."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def reload(row: TaskExecution) -> TaskExecution:
    return TaskExecution.objects.get(pk=row.pk)


def test_started_stamps_started_at_and_leaves_finished_at_empty(make_execution):
    row = make_execution()
    assert row.started_at is None

    updated = TaskTracker.update_task_status(row.task_id, TaskStatus.STARTED)

    assert updated is not None
    assert updated.started_at is not None
    assert updated.finished_at is None


def test_started_at_is_kept_when_started_arrives_twice(make_execution):
    row = make_execution()
    first = TaskTracker.update_task_status(row.task_id, TaskStatus.STARTED)
    second = TaskTracker.update_task_status(row.task_id, TaskStatus.STARTED)
    assert first.started_at == second.started_at


def test_update_status_keeps_terminal_status_when_started_arrives_late(make_execution):
    row = make_execution()
    TaskTracker.update_task_status(row.task_id, TaskStatus.STARTED)
    done = TaskTracker.update_task_status(row.task_id, TaskStatus.SUCCESS, result={"n": 1})

    late = TaskTracker.update_task_status(row.task_id, TaskStatus.STARTED, metadata={"late": True})

    assert late.status == TaskStatus.SUCCESS
    assert late.finished_at == done.finished_at
    assert late.result == {"n": 1}
    assert late.metadata["late"] is True, "the metadata merge of a late update still applies"


@pytest.mark.parametrize("late", ["PENDING", "STARTED", "RETRY"])
@pytest.mark.parametrize("terminal", ["SUCCESS", "FAILURE", "REVOKED"])
def test_raw_update_cannot_move_a_terminal_row_back(make_execution, terminal, late):
    row = make_execution()
    raw("UPDATE agentcore_task_execution SET status = %s WHERE id = %s", [terminal, row.pk])
    finished_at = reload(row).finished_at

    raw("UPDATE agentcore_task_execution SET status = %s WHERE id = %s", [late, row.pk])

    after = reload(row)
    assert after.status == terminal
    assert after.finished_at == finished_at is not None


def test_raw_update_stamps_started_and_finished_at(make_execution):
    row = make_execution()
    raw("UPDATE agentcore_task_execution SET status = 'STARTED' WHERE id = %s", [row.pk])
    started = reload(row)
    raw("UPDATE agentcore_task_execution SET status = 'FAILURE' WHERE id = %s", [row.pk])
    failed = reload(row)

    assert started.started_at is not None and started.finished_at is None
    assert failed.started_at == started.started_at
    assert failed.finished_at is not None
    assert failed.finished_at >= failed.started_at


def test_terminal_to_terminal_is_allowed_and_keeps_first_finished_at(make_execution):
    row = make_execution(initial_status=TaskStatus.STARTED)
    timed_out = TaskTracker.update_task_status(row.task_id, "FAILURE", error="timed out")
    finished = TaskTracker.update_task_status(row.task_id, "SUCCESS", result=[1])

    assert finished.status == TaskStatus.SUCCESS
    assert finished.finished_at == timed_out.finished_at


def test_raw_update_cannot_rewrite_the_stamped_times(make_execution):
    row = make_execution(initial_status=TaskStatus.STARTED)
    raw("UPDATE agentcore_task_execution SET status = 'SUCCESS' WHERE id = %s", [row.pk])
    before = reload(row)

    raw(
        "UPDATE agentcore_task_execution SET started_at = now() - interval '1 day',"
        " finished_at = now() + interval '1 day' WHERE id = %s",
        [row.pk],
    )

    after = reload(row)
    assert (after.started_at, after.finished_at) == (before.started_at, before.finished_at)


def test_unfinished_row_cannot_carry_finished_at(make_execution):
    row = make_execution()
    raw("UPDATE agentcore_task_execution SET finished_at = now() WHERE id = %s", [row.pk])
    assert reload(row).finished_at is None


def test_updated_at_moves_on_every_write(make_execution):
    row = make_execution()
    first = reload(row).updated_at
    TaskTracker.update_progress(row.task_id, percent=5)
    second = reload(row).updated_at
    raw("UPDATE agentcore_task_execution SET module = module WHERE id = %s", [row.pk])
    third = reload(row).updated_at
    assert first < second < third


def test_check_constraint_refuses_an_unknown_status(make_execution):
    row = make_execution()
    with pytest.raises(IntegrityError), transaction.atomic():
        raw("UPDATE agentcore_task_execution SET status = 'DONE' WHERE id = %s", [row.pk])
    assert reload(row).status == TaskStatus.PENDING


@pytest.mark.django_db
def test_dba_insert_gets_defaults_and_stamps():
    raw(
        "INSERT INTO agentcore_task_execution (task_id, task_name, module, status)"
        " VALUES ('dba-1', 'ops.fix', 'ops', 'STARTED')"
    )
    row = TaskExecution.objects.get(task_id="dba-1")
    assert row.metadata == {} and row.task_args == [] and row.task_kwargs == {}
    assert row.started_at is not None and row.created_at is not None
    assert row.finished_at is None


def test_merge_applies_to_a_terminal_row(make_execution):
    row = make_execution()
    TaskTracker.update_task_status(row.task_id, TaskStatus.REVOKED)
    after = TaskTracker.update_progress(row.task_id, message="cleaned up")
    assert after.status == TaskStatus.REVOKED
    assert after.metadata["progress_message"] == "cleaned up"
