"""The two Celery tasks: they record their own runs, honour *_ENABLED and never overlap."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.test.utils import override_settings

from agentcore_task import tasks
from agentcore_task.adapters.django import tasks as compat_tasks
from agentcore_task.models import TaskExecution
from agentcore_task.status import TaskStatus
from agentcore_task.tasks import (
    CLEANUP_TASK_NAME,
    MARK_TIMEOUT_TASK_NAME,
    cleanup_old_task_executions,
    mark_timed_out_task_executions,
)
from tests.integration.test_maintenance import insert_row, remaining_ids
from tests.lock_workers import run_workers

pytestmark = pytest.mark.django_db(transaction=True)  # cleanup runs outside transactions


def own_runs(task_name: str) -> list[TaskExecution]:
    return list(TaskExecution.objects.filter(task_name=task_name).order_by("id"))


def test_the_tasks_have_the_fixed_names_on_both_import_paths():
    assert cleanup_old_task_executions.name == CLEANUP_TASK_NAME
    assert mark_timed_out_task_executions.name == MARK_TIMEOUT_TASK_NAME
    assert compat_tasks.cleanup_old_task_executions is cleanup_old_task_executions
    assert compat_tasks.mark_timed_out_task_executions is mark_timed_out_task_executions


def test_cleanup_task_deletes_and_records_its_own_run_with_the_counts():
    insert_row("SUCCESS", dt.timedelta(days=40))
    kept = insert_row("SUCCESS", dt.timedelta(days=3))

    outcome = cleanup_old_task_executions.apply(kwargs={"retention_days": 10})

    counts = outcome.get()
    assert counts["deleted"] == 1
    [run] = own_runs(CLEANUP_TASK_NAME)
    assert remaining_ids() == {kept, run.pk}
    assert (run.task_id, run.module, run.status) == (outcome.id, "agentcore_task", "SUCCESS")
    assert run.result == counts
    assert run.task_kwargs == {"retention_days": 10, "only_completed": None}
    assert run.started_at is not None and run.finished_at is not None


def test_timeout_task_marks_and_records_its_own_run(monkeypatch):
    stale = insert_row("STARTED", dt.timedelta(hours=1), dt.timedelta(minutes=30))

    counts = mark_timed_out_task_executions.apply(kwargs={"timeout_minutes": 20}).get()

    assert counts["marked"] == 1
    assert TaskExecution.objects.get(pk=stale).status == TaskStatus.FAILURE
    [run] = own_runs(MARK_TIMEOUT_TASK_NAME)
    assert (run.module, run.status, run.result) == ("agentcore_task", "SUCCESS", counts)


def test_a_failing_run_is_recorded_with_its_traceback_and_fails_in_celery(monkeypatch):
    def broken(**arguments):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(tasks, "cleanup_old_executions", broken)

    outcome = cleanup_old_task_executions.apply()

    assert outcome.failed()
    [run] = own_runs(CLEANUP_TASK_NAME)
    assert run.status == TaskStatus.FAILURE
    assert "disk on fire" in run.error
    assert "RuntimeError: disk on fire" in run.traceback


def test_a_tracker_that_cannot_record_does_not_stop_the_job(monkeypatch, caplog):
    def unavailable(*args, **kwargs):
        raise ConnectionError("tracker down")

    monkeypatch.setattr("agentcore_task.tasks.register_task_execution", unavailable)
    monkeypatch.setattr(
        "agentcore_task.services.tracker.TaskTracker.update_task_status",
        staticmethod(unavailable),
    )
    old = insert_row("SUCCESS", dt.timedelta(days=40))

    counts = cleanup_old_task_executions.apply().get()

    assert counts["deleted"] == 1
    assert old not in remaining_ids()
    assert "could not register the start of its own periodic run" in caplog.text


@pytest.mark.parametrize(
    ("task", "setting"),
    [
        (cleanup_old_task_executions, "AGENTCORE_TASK_CLEANUP_ENABLED"),
        (mark_timed_out_task_executions, "AGENTCORE_TASK_MARK_TIMEOUT_ENABLED"),
    ],
)
def test_a_disabled_task_does_nothing_and_says_so(task, setting):
    old = insert_row("SUCCESS", dt.timedelta(days=400))
    stale = insert_row("STARTED", dt.timedelta(days=1), dt.timedelta(days=1))

    with override_settings(**{setting: False}):
        outcome = task.apply().get()

    assert outcome == {
        "success": False,
        "status": "skipped",
        "reason": "disabled",
        "error": f"{setting} is False",
    }
    assert remaining_ids() == {old, stale}
    assert TaskExecution.objects.get(pk=stale).status == TaskStatus.STARTED


def run_cleanup_task_slowly(seconds: float) -> dict:
    """In a child process: run the cleanup task, its work slowed down so runs overlap."""
    from agentcore_task import tasks as child_tasks

    real = child_tasks.cleanup_old_executions

    def slow(**arguments):
        time.sleep(seconds)
        return real(**arguments)

    child_tasks.cleanup_old_executions = slow
    return dict(child_tasks.cleanup_old_task_executions.apply().get())


@pytest.mark.slow
def test_two_processes_running_the_cleanup_at_once_run_it_once():
    insert_row("SUCCESS", dt.timedelta(days=400))
    outcomes = run_workers(run_cleanup_task_slowly, [(3.0,), (3.0,)])

    skipped = [outcome for outcome in outcomes if outcome.get("status") == "skipped"]
    ran = [outcome for outcome in outcomes if "deleted" in outcome]
    assert len(skipped) == len(ran) == 1
    assert skipped[0]["reason"] == "task_already_running"
    assert ran[0]["deleted"] == 1
    assert [run.status for run in own_runs(CLEANUP_TASK_NAME)] == ["SUCCESS"]
