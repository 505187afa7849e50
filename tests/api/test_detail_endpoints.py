"""Detail, by-task-id, status and sync endpoints, and the error body shape."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agentcore_task.services.tracker import TaskTracker
from tests.api.conftest import BASE

DETAIL_FIELDS = {
    "id", "task_id", "task_name", "module", "status", "created_at", "started_at",
    "finished_at", "updated_at", "timed_out", "created_by_id", "created_by_username", "duration",
    "is_completed", "is_running", "task_args", "task_kwargs", "result", "error", "traceback",
    "created_by", "metadata", "queue_wait", "worker", "queue", "retry_of", "retry_root", "retries",
    "status_history",
}  # fmt: skip


@pytest.fixture
def client(client_for, alice):
    return client_for(alice)


@pytest.fixture
def row(make_execution, alice):
    row = make_execution(
        task_id="celery:abc.def-1", created_by=alice, task_args=[1], task_kwargs={"k": "v"}
    )
    TaskTracker.update_task_status(row.task_id, "FAILURE", error="boom", traceback="Traceback…")
    return row


def test_detail_has_every_field(client, row, alice):
    body = client.get(BASE + f"{row.pk}/").json()
    assert set(body) == DETAIL_FIELDS
    assert body["created_by"] == body["created_by_id"] == alice.pk
    assert body["task_args"] == [1] and body["task_kwargs"] == {"k": "v"}
    assert body["error"] == "boom" and body["is_completed"] is True
    assert body["timed_out"] is False


def test_by_task_id_accepts_dots_colons_and_dashes(client, row):
    body = client.get(BASE + f"by-task-id/{row.task_id}/").json()
    assert body["id"] == row.pk


def test_unknown_task_id_is_404_with_detail_and_error(client, row):
    for path in ["by-task-id/nope/", "status/?task_id=nope"]:
        response = client.get(BASE + path)
        assert response.status_code == 404
        assert response.json()["detail"] == response.json()["error"]


def test_status_without_task_id_is_400_with_detail_and_error(client):
    response = client.get(BASE + "status/")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == body["detail"] and "task_id" in body


@pytest.mark.parametrize("sync", ["true", "false", "1", "off"])
def test_status_returns_the_row(client, row, sync):
    response = client.get(BASE + f"status/?task_id={row.task_id}&sync={sync}")
    assert response.status_code == 200
    assert response.json()["status"] == "FAILURE"


def test_status_with_a_bad_sync_flag_is_400(client, row):
    response = client.get(BASE + f"status/?task_id={row.task_id}&sync=perhaps")
    assert response.status_code == 400 and "sync" in response.json()


def test_sync_returns_the_row(client, row):
    response = client.post(BASE + f"{row.pk}/sync/")
    assert response.status_code == 200 and response.json()["task_id"] == row.task_id


def test_detail_reads_the_table_once(client, row):
    """One query on the executions (the permission check may load the user's permissions)."""
    with CaptureQueriesContext(connection) as queries:
        client.get(BASE + f"{row.pk}/")
    on_table = [q for q in queries.captured_queries if "agentcore_task_execution" in q["sql"]]
    assert len(on_table) == 1


def test_non_numeric_id_is_404(client, row):
    assert client.get(BASE + "abc/").status_code == 404
