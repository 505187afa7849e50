"""The database's status rules, through the library and through a DBA's raw SQL."""

from __future__ import annotations

import datetime as dt

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


@pytest.mark.parametrize("later", ["SUCCESS", "FAILURE", "REVOKED"])
@pytest.mark.parametrize("first", ["SUCCESS", "FAILURE", "REVOKED"])
def test_the_first_terminal_status_the_application_wrote_wins(make_execution, first, later):
    row = make_execution(initial_status=TaskStatus.STARTED)
    done = TaskTracker.update_task_status(row.task_id, first, error="first outcome")

    again = TaskTracker.update_task_status(
        row.task_id, later, result={"late": 1}, error="late outcome", traceback="late tb"
    )

    assert again.status == first
    assert again.finished_at == done.finished_at
    after = reload(row)
    if later != first:  # the refused write's payload goes with it: no contradiction
        assert (after.result, after.error, after.traceback) == (None, "first outcome", None)


@pytest.mark.parametrize("later", ["SUCCESS", "REVOKED"])
def test_raw_update_cannot_replace_a_terminal_status_either(make_execution, later):
    row = make_execution(initial_status=TaskStatus.STARTED)
    TaskTracker.update_task_status(row.task_id, TaskStatus.FAILURE, error="boom")

    raw(
        "UPDATE agentcore_task_execution SET status = %s, result = '1' WHERE id = %s",
        [later, row.pk],
    )

    after = reload(row)
    assert (after.status, after.error, after.result) == (TaskStatus.FAILURE, "boom", None)


def mark_timed_out_by_hand(row: TaskExecution) -> None:
    """Write what the timeout job writes: FAILURE, timed_out, its error."""
    raw(
        "UPDATE agentcore_task_execution SET status = 'FAILURE', timed_out = true,"
        " error = 'Timed out' WHERE id = %s",
        [row.pk],
    )


@pytest.mark.parametrize("outcome", ["SUCCESS", "REVOKED"])
def test_a_timed_out_failure_is_replaced_by_the_real_outcome_which_clears_its_error(
    make_execution, outcome
):
    row = make_execution(initial_status=TaskStatus.STARTED)
    mark_timed_out_by_hand(row)
    timed_out = reload(row)
    assert timed_out.timed_out and timed_out.finished_at is not None

    finished = TaskTracker.update_task_status(row.task_id, outcome, result=[1])

    after = reload(row)
    assert finished.status == outcome
    assert (after.error, after.traceback, after.timed_out) == (None, None, False)
    assert after.finished_at > timed_out.finished_at, "the run ended now, not at the mark"


def test_a_real_failure_replaces_the_timeout_error_and_clears_timed_out(make_execution):
    row = make_execution(initial_status=TaskStatus.STARTED)
    mark_timed_out_by_hand(row)

    TaskTracker.update_task_status(row.task_id, TaskStatus.FAILURE, error="real error")

    after = reload(row)
    assert (after.status, after.error, after.timed_out) == ("FAILURE", "real error", False)
    # and now it is the application's FAILURE: it stays
    TaskTracker.update_task_status(row.task_id, TaskStatus.SUCCESS)
    assert reload(row).status == TaskStatus.FAILURE


def test_a_real_failure_without_an_error_still_replaces_the_timeout(make_execution):
    row = make_execution(initial_status=TaskStatus.STARTED)
    mark_timed_out_by_hand(row)

    TaskTracker.update_task_status(row.task_id, TaskStatus.FAILURE)  # e.g. a sync, no error

    after = reload(row)
    assert (after.status, after.timed_out, after.error) == ("FAILURE", False, None)
    TaskTracker.update_task_status(row.task_id, TaskStatus.SUCCESS)
    assert reload(row).status == TaskStatus.FAILURE, "now it is a real FAILURE: it stays"


def test_a_task_marked_never_started_that_starts_after_all_gets_its_times(make_execution):
    row = make_execution()  # PENDING
    raw(
        "UPDATE agentcore_task_execution SET status = 'FAILURE', timed_out = true,"
        " error = 'Never started' WHERE id = %s",
        [row.pk],
    )
    TaskTracker.update_task_status(row.task_id, TaskStatus.STARTED)
    started = reload(row)
    assert (started.status, started.timed_out) == ("FAILURE", True)
    assert started.started_at is not None, "the late start is stamped"

    TaskTracker.update_task_status(row.task_id, TaskStatus.SUCCESS, result=1)

    done = reload(row)
    assert (done.status, done.error, done.timed_out) == ("SUCCESS", None, False)
    assert done.finished_at >= done.started_at == started.started_at


def test_a_timed_out_row_is_not_reopened_by_a_late_start(make_execution):
    row = make_execution(initial_status=TaskStatus.STARTED)
    mark_timed_out_by_hand(row)
    TaskTracker.update_task_status(row.task_id, TaskStatus.STARTED)
    after = reload(row)
    assert (after.status, after.timed_out) == (TaskStatus.FAILURE, True)


def test_timed_out_is_only_ever_true_on_a_failure(make_execution):
    row = make_execution(initial_status=TaskStatus.STARTED)
    raw("UPDATE agentcore_task_execution SET timed_out = true WHERE id = %s", [row.pk])
    assert reload(row).timed_out is False


def test_a_row_that_becomes_success_drops_an_earlier_error(make_execution):
    row = make_execution(initial_status=TaskStatus.STARTED)
    TaskTracker.update_task_status(row.task_id, TaskStatus.RETRY, error="flaky", traceback="tb")

    TaskTracker.update_task_status(row.task_id, TaskStatus.SUCCESS, result=1)

    after = reload(row)
    assert (after.status, after.error, after.traceback) == (TaskStatus.SUCCESS, None, None)


def test_a_success_keeps_an_error_its_own_write_supplies(make_execution):
    row = make_execution(initial_status=TaskStatus.STARTED)
    TaskTracker.update_task_status(row.task_id, TaskStatus.SUCCESS, error="3 rows skipped")
    assert reload(row).error == "3 rows skipped"


@pytest.mark.django_db
def test_supplied_times_are_replaced_by_the_database_stamps():
    raw(
        "INSERT INTO agentcore_task_execution (task_id, task_name, module, status, started_at,"
        " finished_at) VALUES ('dba-times', 'ops.fix', 'ops', 'PENDING', now() - interval"
        " '30 years', now() - interval '31 years')"
    )
    pending = TaskExecution.objects.get(task_id="dba-times")
    assert (pending.started_at, pending.finished_at) == (None, None)

    raw(
        "UPDATE agentcore_task_execution SET status = 'SUCCESS', started_at = now() + interval"
        " '1 day', finished_at = now() - interval '30 years' WHERE task_id = 'dba-times'"
    )
    done = TaskExecution.objects.get(task_id="dba-times")
    assert done.started_at is None, "it never started: a DBA cannot invent a start"
    assert done.finished_at is not None and done.finished_at >= pending.created_at


def test_orm_writes_cannot_supply_times_either(make_execution):
    row = make_execution(initial_status=TaskStatus.STARTED)
    started_at = reload(row).started_at
    TaskExecution.objects.filter(pk=row.pk).update(
        status=TaskStatus.SUCCESS, started_at=started_at + dt.timedelta(days=1)
    )
    after = reload(row)
    assert after.started_at == started_at
    assert after.duration is not None and after.duration >= 0


def test_lifted_rules_keep_the_heartbeat_as_written(make_execution):
    row = make_execution(initial_status=TaskStatus.STARTED)
    before = reload(row).updated_at
    with transaction.atomic():
        raw("SET LOCAL agentcore_task.override_rules = 'on'")
        raw(
            "UPDATE agentcore_task_execution SET created_at = created_at - interval '1 day'"
            " WHERE id = %s",
            [row.pk],
        )
        raw("SET LOCAL agentcore_task.override_rules = 'off'")
    assert reload(row).updated_at == before


def test_a_dba_can_lift_the_rules_for_one_transaction(make_execution):
    row = make_execution(initial_status=TaskStatus.STARTED)
    TaskTracker.update_task_status(row.task_id, TaskStatus.FAILURE)
    with transaction.atomic():
        raw("SET LOCAL agentcore_task.override_rules = 'on'")
        raw(
            "UPDATE agentcore_task_execution SET status = 'SUCCESS', updated_at = "
            "'2020-01-01T00:00:00Z' WHERE id = %s",
            [row.pk],
        )
        raw("SET LOCAL agentcore_task.override_rules = 'off'")
    after = reload(row)
    assert after.status == TaskStatus.SUCCESS
    assert after.updated_at.year == 2020


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
