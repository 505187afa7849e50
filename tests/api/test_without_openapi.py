"""The API works in a project without drf-spectacular (the ``openapi`` extra not installed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.celery.conftest import database_url

ROOT = Path(__file__).resolve().parents[2]

# drf_spectacular = None in sys.modules makes every import of it fail, as if not installed.
CALLS = """
import json, sys
sys.modules["drf_spectacular"] = None
import django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
client = Client()
client.force_login(get_user_model().objects.get(username="no-openapi"))
listed = client.get("/api/v1/tasks/executions/", {"status": "SUCCESS,FAILURE"})
stats = client.get("/api/v1/tasks/executions/stats/")
bad = client.get("/api/v1/tasks/executions/", {"status": "DONE"})
print(json.dumps({
    "list": [listed.status_code, [row["task_id"] for row in listed.json()["results"]]],
    "stats": [stats.status_code, stats.json().get("total")],
    "bad": [bad.status_code, sorted(bad.json())],
}))
"""


@pytest.mark.django_db(transaction=True)
def test_the_api_serves_lists_stats_and_400s_without_drf_spectacular(make_user, make_execution):
    user = make_user(username="no-openapi")
    row = make_execution(created_by=user)
    from agentcore_task import TaskTracker

    TaskTracker.update_task_status(row.task_id, "SUCCESS")
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings_without_openapi",
        DATABASE_URL=database_url(connection.settings_dict),
    )
    result = subprocess.run(
        [sys.executable, "-c", CALLS], capture_output=True, text=True, env=env, cwd=ROOT,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["list"] == [200, [row.task_id]]
    assert answers["stats"] == [200, 1]
    assert answers["bad"][0] == 400 and "status" in answers["bad"][1]
