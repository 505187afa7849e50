"""Run the demo: migrate, record an execution with multi-step progress, print it.

    python -m demo [--for SECONDS] [--port PORT]

The database is DATABASE_URL, else PostgreSQL on 127.0.0.1:5432, else an embedded server
from PyPI (AGENTCORE_EMBEDDED=1 forces it), stopped and deleted when the demo exits.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid


def main() -> None:
    parser = argparse.ArgumentParser(description="agentcore-task demo")
    parser.add_argument("--for", dest="seconds", type=float, default=0, help="stop after N s")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (for the API demo)")
    options = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)

    from agentcore_task.adapters.django import TaskStatus, TaskTracker, register_task_execution

    task_id = str(uuid.uuid4())
    register_task_execution(
        task_id,
        "demo.tasks.import_feed",
        "demo",
        task_kwargs={"feed": 42},
        metadata={"source": "make demo"},
    )
    TaskTracker.update_task_status(task_id, TaskStatus.STARTED)
    steps = [
        ("prepare", "Fetching the feed…"),
        ("interpret", "Parsing entries…"),
        ("finalize", "Saving…"),
    ]
    for number, (step, message) in enumerate(steps, start=1):
        row = TaskTracker.update_progress(
            task_id, percent=number * 100 // len(steps), message=message, step=step
        )
        assert row is not None
        print(f"Step {step}: {message} ({row.metadata['progress_percent']}%)")
        time.sleep(0.2)
    done = TaskTracker.update_task_status(task_id, TaskStatus.SUCCESS, result={"entries": 17})
    assert done is not None
    print(
        json.dumps(
            {
                "task_id": done.task_id,
                "status": done.status,
                "duration": done.duration,
                "metadata": done.metadata,
                "result": done.result,
            },
            indent=2,
            default=str,
        )
    )
    if options.seconds:
        time.sleep(options.seconds)


if __name__ == "__main__":
    main()
