"""Progress written by a real worker: celery-progress's update_state, and the write interval."""

from __future__ import annotations

import uuid

from celery.result import AsyncResult
from django.test import override_settings
from rest_framework.test import APIClient

from agentcore_task.status import TaskStatus
from tests.celery.worker import TRACKED, WORKER_TESTS, row_of
from tests.celery_tasks import release, tracked_recorder, tracked_throttled

pytestmark = WORKER_TESTS


@TRACKED
def test_update_state_progress_lands_in_the_rows_progress_keys(wait_until, make_user):
    key = uuid.uuid4().hex
    task_id = tracked_recorder.delay(key).id
    row = wait_until(
        lambda: row_of(task_id),
        lambda row: row is not None and row.metadata.get("progress_percent") == 30,
    )
    assert row.metadata["progress_message"] == "three"
    assert (row.metadata["progress_current"], row.metadata["progress_total"]) == (3, 10)
    assert AsyncResult(task_id).state == "PROGRESS"  # Celery's own state is still stored

    staff = APIClient()
    staff.force_authenticate(make_user(is_staff=True))
    answer = staff.get(f"/api/v1/tasks/progress/{task_id}/").json()
    assert answer == {
        "state": "PROGRESS",
        "complete": False,
        "success": None,
        "progress": {
            "pending": False, "current": 3, "total": 10, "percent": 30, "description": "three",
        },
    }  # fmt: skip

    release(key)
    row = wait_until(lambda: row_of(task_id), lambda row: row.status == TaskStatus.SUCCESS)
    assert row.metadata["progress_percent"] == 100
    done = staff.get(f"/api/v1/tasks/progress/{task_id}/").json()
    assert (done["state"], done["complete"], done["success"]) == ("SUCCESS", True, True)
    assert done["result"] == {"done": 10}


@TRACKED
def test_min_interval_writes_once_per_interval_and_never_loses_the_newest_values(wait_until):
    key = uuid.uuid4().hex
    task_id = tracked_throttled.delay(key, 30.0).id
    row = wait_until(
        lambda: row_of(task_id), lambda row: row is not None and "phase" in row.metadata
    )
    # 200 calls inside one interval: the first wrote; the status write carried the newest.
    assert (row.metadata["progress_percent"], row.metadata["progress_message"]) == (100, "a200")

    release(key)
    row = wait_until(lambda: row_of(task_id), lambda row: row.status == TaskStatus.SUCCESS)
    assert row.result == {"written_a": 1, "written_b": 1}
    assert row.metadata["progress_message"] == "b50"  # held, then written as the task ended


@override_settings(AGENTCORE_TASK_PROGRESS_MIN_INTERVAL=0)
def test_without_an_interval_every_call_writes(wait_until):
    key = uuid.uuid4().hex
    task_id = tracked_throttled.delay(key, 0).id
    release(key)
    row = wait_until(lambda: row_of(task_id), lambda row: row is not None and row.is_completed)
    assert row.result == {"written_a": 200, "written_b": 50}
