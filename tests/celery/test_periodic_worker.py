"""Both periodic tasks on a real worker, on real rows, sent by name as Beat sends them."""

from __future__ import annotations

import datetime as dt

import pytest

from agentcore_task.models import TaskExecution
from agentcore_task.status import TaskStatus
from agentcore_task.tasks import CLEANUP_TASK_NAME, MARK_TIMEOUT_TASK_NAME
from tests.celery_app import app
from tests.integration.test_maintenance import insert_row

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_worker_runs_cleanup_and_timeout_marking_and_records_both(celery_worker_process):
    old = insert_row("SUCCESS", dt.timedelta(days=45))
    young = insert_row("SUCCESS", dt.timedelta(days=2))
    stale = insert_row("STARTED", dt.timedelta(hours=2), dt.timedelta(hours=1))
    fresh = insert_row("STARTED", dt.timedelta(minutes=5), dt.timedelta(minutes=2))

    # By name, without arguments, as Beat does: the defaults (30 days, 10 minutes) apply.
    cleanup = app.send_task(CLEANUP_TASK_NAME)
    assert cleanup.get(timeout=60)["deleted"] == 1
    marking = app.send_task(MARK_TIMEOUT_TASK_NAME)
    assert marking.get(timeout=60)["marked"] == 1

    statuses = dict(TaskExecution.objects.values_list("id", "status"))
    assert old not in statuses
    assert (statuses[young], statuses[stale], statuses[fresh]) == ("SUCCESS", "FAILURE", "STARTED")
    runs = {row.task_id: row for row in TaskExecution.objects.filter(module="agentcore_task")}
    assert set(runs) == {cleanup.id, marking.id}
    assert runs[cleanup.id].task_name == CLEANUP_TASK_NAME
    assert runs[marking.id].task_name == MARK_TIMEOUT_TASK_NAME
    assert {row.status for row in runs.values()} == {TaskStatus.SUCCESS}
