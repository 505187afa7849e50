"""Use the API and the services on an adopted database; print what they answered as JSON.

Run by tests/migrations/test_adopt_original.py in a child process whose DATABASE_URL names the
adopted database itself (no test database): ``python -m tests.migrations.adopted_api``.
"""

from __future__ import annotations

import json
import os
from typing import Any


def main() -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.test import APIClient

    from agentcore_task import TaskTracker, register_task_execution
    from agentcore_task.models import TaskExecution
    from agentcore_task.runtime_config import get_runtime_config

    base = "/api/v1/tasks/executions/"
    alice = get_user_model().objects.get(username="alice")
    client = APIClient()
    client.force_authenticate(alice)
    out: dict[str, Any] = {}

    listed = client.get(base).json()
    out["list_ids"] = [item["id"] for item in listed["results"]]
    out["list_metadata"] = [item["metadata"] for item in listed["results"]]
    without = client.get(base, {"include_metadata": "false"}).json()["results"]
    out["list_without_metadata"] = [("metadata" in item, item["metadata"]) for item in without]
    out["detail"] = client.get(f"{base}2/").json()
    out["detail_fields"] = client.get(f"{base}2/", {"metadata_fields": "progress_step"}).json()[
        "metadata"
    ]
    out["by_task_id"] = client.get(f"{base}by-task-id/seed-task-3/").json()["id"]
    status = client.get(f"{base}status/", {"task_id": "seed-task-1", "sync": "false"})
    out["status"] = status.json()["status"]
    out["stats"] = client.get(f"{base}stats/").json()
    out["unknown"] = client.get(f"{base}by-task-id/nope/").status_code

    auditor = get_user_model().objects.get(username="auditor")
    out["group_keeps_access"] = [
        auditor.has_perm("agentcore_task.view_taskexecution"),
        auditor.has_perm("agentcore_task.change_taskexecution"),
        sorted(Group.objects.get(name="auditors").permissions.values_list("codename", flat=True)),
    ]

    new = register_task_execution("adopted-new", "shop.tasks.import_feed", "shop", created_by=alice)
    TaskTracker.update_task_status("adopted-new", "STARTED")
    done = TaskTracker.update_task_status("adopted-new", "SUCCESS", result={"count": 9})
    out["new_row"] = [
        new.pk,
        done.status,
        done.started_at is not None,
        done.finished_at is not None,
    ]
    finished = TaskTracker.update_task_status("seed-task-1", "SUCCESS", result={"count": 1})
    out["seed_task_1"] = [
        finished.status,
        finished.started_at.isoformat(),
        finished.finished_at is not None,
    ]
    late = TaskTracker.update_task_status("seed-task-2", "STARTED")
    out["late_started_keeps"] = late.status
    out["row_count"] = TaskExecution.objects.count()

    config = get_runtime_config(fresh=True)
    out["config"] = {name: [config.values[name], config.sources[name]] for name in config.values}
    return out


if __name__ == "__main__":
    print(json.dumps(main(), default=str))
