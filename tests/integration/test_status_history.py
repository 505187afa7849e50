"""The status trigger appends each transition to ``status_history``: never a progress merge."""

from __future__ import annotations

from django.db import connection

from agentcore_task.db import fetch_execution
from agentcore_task.models import TaskExecution
from agentcore_task.services.running_task import start_params
from agentcore_task.services.writes import update_progress, update_task_status
from agentcore_task.status import TaskStatus
from agentcore_task.triggers import STATUS_HISTORY_LIMIT


def history(task_id: str) -> list[dict]:
    return TaskExecution.objects.get(task_id=task_id).status_history


def statuses(task_id: str) -> list[str]:
    return [entry["status"] for entry in history(task_id)]


def test_registration_starts_the_history_with_its_status(make_execution):
    row = make_execution()

    (entry,) = history(row.task_id)
    assert entry["status"] == "PENDING"
    assert "at" in entry and "worker" not in entry


def test_each_status_change_is_appended_in_order(make_execution):
    row = make_execution()
    update_task_status(row.task_id, TaskStatus.STARTED)
    update_task_status(row.task_id, TaskStatus.SUCCESS, result=1)

    assert statuses(row.task_id) == ["PENDING", "STARTED", "SUCCESS"]
    stored = TaskExecution.objects.get(task_id=row.task_id)
    assert stored.status_history[1]["at"] <= stored.status_history[2]["at"]


def test_progress_updates_and_repeated_statuses_add_nothing(make_execution):
    row = make_execution()
    update_task_status(row.task_id, TaskStatus.STARTED)
    for percent in (10, 50, 90):
        update_progress(row.task_id, percent=percent)
    update_task_status(row.task_id, TaskStatus.STARTED, metadata={"x": 1})

    assert statuses(row.task_id) == ["PENDING", "STARTED"]


def test_a_refused_transition_is_not_history(make_execution):
    row = make_execution()
    update_task_status(row.task_id, TaskStatus.FAILURE, error="boom")
    update_task_status(row.task_id, TaskStatus.STARTED)  # late: the row stays FAILURE
    update_task_status(row.task_id, TaskStatus.SUCCESS)  # the first terminal status wins

    assert statuses(row.task_id) == ["PENDING", "FAILURE"]


def test_a_dba_update_is_recorded_too(make_execution):
    row = make_execution()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE agentcore_task_execution SET status = 'REVOKED' WHERE id = %s", [row.pk]
        )

    assert statuses(row.task_id) == ["PENDING", "REVOKED"]


def test_the_history_keeps_the_newest_twenty_entries(make_execution):
    row = make_execution()
    for number in range(15):
        update_task_status(row.task_id, TaskStatus.STARTED, metadata={"n": number})
        update_task_status(row.task_id, TaskStatus.RETRY)

    kept = statuses(row.task_id)
    assert len(kept) == STATUS_HISTORY_LIMIT == 20
    assert kept[-2:] == ["STARTED", "RETRY"]
    assert "PENDING" not in kept  # the oldest went first


def test_a_start_names_the_worker_in_its_entry(make_execution):
    row = make_execution()

    class Request:
        hostname = "celery@host-a"
        delivery_info = {"routing_key": "reports"}

    class Task:
        name = row.task_name
        request = Request()

    fetch_execution("start_execution", start_params(Task(), row.task_id, [], {}, None))

    stored = TaskExecution.objects.get(task_id=row.task_id)
    assert stored.status_history[-1]["worker"] == "celery@host-a"
    assert (stored.worker, stored.queue) == ("celery@host-a", "reports")
