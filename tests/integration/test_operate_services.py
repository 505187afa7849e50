"""The operator verbs as Python calls: what revoke, retry and bulk write, and refuse."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery import signals
from django.test import override_settings

from agentcore_task import retry_execution, revoke_execution
from agentcore_task.exceptions import ExecutionFinished, ExecutionNotFinished, RedactedArguments
from agentcore_task.models import TaskAction, TaskExecution
from agentcore_task.services.operate import bulk_operate, redacted_argument_keys
from agentcore_task.services.writes import update_task_status
from agentcore_task.status import TaskStatus

pytestmark = pytest.mark.django_db


def test_a_late_outcome_from_a_worker_cannot_undo_a_revoke(make_execution):
    row = make_execution()
    revoke_execution(row.task_id, reason="stop")

    update_task_status(row.task_id, TaskStatus.STARTED)
    update_task_status(row.task_id, TaskStatus.SUCCESS, result={"late": True})

    stored = TaskExecution.objects.get(pk=row.pk)
    assert (stored.status, stored.result) == (TaskStatus.REVOKED, None)
    assert stored.error == "Revoked by code: stop"
    assert stored.metadata["revoke_reason"] == "stop"


@override_settings(AGENTCORE_TASK_AUTO_TRACK=["tests.tracked.*"])
def test_the_workers_revoked_signal_keeps_the_operators_note(make_execution):
    # A terminate: the operator's revoke writes its note, then the worker's task_revoked
    # signal arrives for the same row and records REVOKED again.
    row = make_execution(task_name="tests.tracked.wait")
    update_task_status(row.task_id, TaskStatus.STARTED)
    revoke_execution(row.task_id, terminate=True, reason="runaway", actor="alice")

    request = SimpleNamespace(id=row.task_id, task_name=row.task_name)
    signals.task_revoked.send(sender=None, request=request, terminated=True, signum=15)

    stored = TaskExecution.objects.get(pk=row.pk)
    assert stored.status == TaskStatus.REVOKED
    assert stored.error == "Revoked by alice: runaway"


@override_settings(AGENTCORE_TASK_AUTO_TRACK=["tests.tracked.*"])
def test_the_workers_revoked_signal_says_why_when_nobody_revoked_it_here(make_execution):
    row = make_execution(task_name="tests.tracked.wait")
    update_task_status(row.task_id, TaskStatus.STARTED)

    request = SimpleNamespace(id=row.task_id, task_name=row.task_name)
    signals.task_revoked.send(sender=None, request=request, terminated=True, signum=15)

    stored = TaskExecution.objects.get(pk=row.pk)
    assert (stored.status, stored.error) == (TaskStatus.REVOKED, "Revoked: terminated (signal 15)")


def test_revoke_refuses_a_finished_row_and_writes_no_audit(make_execution):
    row = make_execution()
    update_task_status(row.task_id, TaskStatus.SUCCESS)

    with pytest.raises(ExecutionFinished, match=r"already finished \(SUCCESS\)"):
        revoke_execution(row)
    assert not TaskAction.objects.exists()


@pytest.mark.parametrize("signal", ["SIGNOPE", 0, True, None])
def test_revoke_refuses_a_bad_signal_before_writing(make_execution, signal):
    row = make_execution()

    with pytest.raises(ValueError, match="signal"):
        revoke_execution(row, terminate=True, signal=signal)
    assert TaskExecution.objects.get(pk=row.pk).status == TaskStatus.PENDING


def test_retry_refuses_unfinished_rows(make_execution):
    with pytest.raises(ExecutionNotFinished):
        retry_execution(make_execution())


def test_retry_keeps_the_creator_module_and_queue(make_execution, make_user):
    owner = make_user()
    row = make_execution(task_name="tests.plain.add", module="billing", created_by=owner)
    TaskExecution.objects.filter(pk=row.pk).update(queue="slow")
    update_task_status(row.task_id, TaskStatus.FAILURE, error="x")

    new = retry_execution(row, actor=make_user(username="ops"))

    assert (new.created_by_id, new.module, new.queue, new.retry_of_id) == (
        owner.pk,
        "billing",
        "slow",
        row.pk,
    )
    assert new.metadata == {"retried_by": "ops"}


def test_redacted_values_are_found_at_any_depth(make_execution):
    row = make_execution(
        task_args=[{"secret": "s"}, "plain"], task_kwargs={"deep": [{"password": "p"}]}
    )

    assert redacted_argument_keys(row) == ["args[0].secret", "kwargs.deep[0].password"]
    update_task_status(row.task_id, TaskStatus.FAILURE, error="x")
    with pytest.raises(RedactedArguments) as refused:
        retry_execution(row)
    assert refused.value.keys == ["args[0].secret", "kwargs.deep[0].password"]


def test_bulk_needs_exactly_one_of_ids_and_filters(make_execution):
    with pytest.raises(ValueError, match="either ids or filters"):
        bulk_operate("revoke", TaskExecution.objects.all())
    with pytest.raises(ValueError, match="action"):
        bulk_operate("delete", TaskExecution.objects.all(), ids=[1])


def test_a_bulk_limit_setting_caps_the_run(make_execution, settings):
    settings.AGENTCORE_TASK_BULK_LIMIT = 2
    rows = [make_execution() for _ in range(3)]

    result = bulk_operate("revoke", TaskExecution.objects.all(), ids=[r.pk for r in rows])

    assert (result["matched"], result["acted_on"], result["truncated"]) == (3, 2, True)
    statuses = [TaskExecution.objects.get(pk=r.pk).status for r in rows]
    assert statuses == [TaskStatus.REVOKED, TaskStatus.REVOKED, TaskStatus.PENDING]
