"""No planted secret reaches the row or the API: secret keys by pattern, URL credentials in text."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import connection
from rest_framework.test import APIClient

from agentcore_task.jsonsafe import REDACTED
from agentcore_task.services.logs import TaskLogCollector
from agentcore_task.services.tracker import TaskTracker
from tests.unit.test_redaction import SECRET_NAMES

PLANTED = "hunter2-planted"
URL = f"postgres://app:{PLANTED}@db.internal:5432/prod"


def _raw_row(task_id: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_to_json(e)::text FROM agentcore_task_execution e WHERE task_id = %s",
            [task_id],
        )
        return cursor.fetchone()[0]


@pytest.fixture
def owner(make_user):
    return make_user(username="owner")


def test_planted_secrets_never_reach_the_row_or_the_api(make_execution, owner):
    secrets = {name: PLANTED for name in SECRET_NAMES}
    row = make_execution(
        created_by=owner,
        task_args=[URL, secrets],
        task_kwargs={**secrets, "dsn_text": f"connect to {URL}", "user": "ann"},
        metadata={"config": secrets, "source": URL},
    )
    TaskTracker.update_progress(row.task_id, percent=50, message=f"Copying from {URL}")
    TaskTracker.append_metadata(row.task_id, "events", [{"seen": URL, "api-key": PLANTED}])
    logs = TaskLogCollector()
    logs.info(f"connecting to {URL}")
    with logs.capture("tests.redaction"):
        try:
            raise ConnectionError(f"could not reach {URL}")
        except ConnectionError:
            logging.getLogger("tests.redaction").exception("failed at %s", URL)
    assert logs.flush(row.task_id)
    try:
        raise RuntimeError(f"lost {URL}")
    except RuntimeError as exc:
        import traceback

        TaskTracker.update_task_status(
            row.task_id,
            "FAILURE",
            error=exc,
            traceback=traceback.format_exc(),
            result={"partial": URL, **secrets},
        )

    raw = _raw_row(row.task_id)
    assert PLANTED not in raw
    client = APIClient()
    client.force_authenticate(owner)
    detail = client.get(f"/api/v1/tasks/executions/{row.pk}/").content.decode()
    listed = client.get("/api/v1/tasks/executions/").content.decode()
    assert PLANTED not in detail and PLANTED not in listed

    stored = json.loads(raw)
    masked = f"postgres://app:{REDACTED}@db.internal:5432/prod"
    assert stored["task_kwargs"]["user"] == "ann"
    assert stored["task_args"][0] == masked
    assert stored["metadata"]["progress_message"] == f"Copying from {masked}"
    assert masked in stored["error"] and masked in stored["traceback"]
    assert any(masked in record["message"] for record in stored["metadata"]["logs"])
    assert any(masked in record.get("exception", "") for record in stored["metadata"]["logs"])


def test_appending_under_a_secret_key_redacts_every_item(make_execution):
    row = make_execution()
    done = TaskTracker.append_metadata(row.task_id, "Session-Tokens", ["a", "b"])
    assert done.metadata["Session-Tokens"] == [REDACTED, REDACTED]
