"""A failure to record never raises into the caller's task; strict mode raises it."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys

import psycopg
import pytest
from django.db import connection
from django.test import override_settings

from agentcore_task.services.tracker import TaskTracker

CALLS = """
import logging, sys, django
logging.basicConfig(level=logging.ERROR, stream=sys.stderr, format="%(levelname)s %(message)s")
django.setup()
from agentcore_task.adapters.django import TaskTracker, register_task_execution
print("register", register_task_execution("task-on-dead-db", "t.n", "m"))
print("status", TaskTracker.update_task_status("task-on-dead-db", "STARTED"))
print("progress", TaskTracker.update_progress("task-on-dead-db", percent=5))
print("get", TaskTracker.get_task("task-on-dead-db"))
"""


def closed_port() -> int:
    """Return a port on which nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_with_database(url: str, strict: bool = False) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="tests.settings")
    code = CALLS
    if strict:
        code = code.replace(
            "django.setup()",
            "from django.conf import settings; django.setup();"
            " settings.AGENTCORE_TASK_STRICT = True",
        )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.smoke
def test_unreachable_database_returns_none_and_logs_one_error_per_call():
    result = run_with_database(f"postgresql://postgres@127.0.0.1:{closed_port()}/nowhere")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "register",
        "None",
        "status",
        "None",
        "progress",
        "None",
        "get",
        "None",
    ]
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 4
    assert all("task-on-dead-db" in line and "OperationalError" in line for line in errors)


def test_unreachable_database_raises_in_strict_mode():
    result = run_with_database(
        f"postgresql://postgres@127.0.0.1:{closed_port()}/nowhere", strict=True
    )
    assert result.returncode != 0
    assert "OperationalError" in result.stderr


def terminate_own_backend() -> None:
    """Kill this process's PostgreSQL backend from another connection, as a restart would."""
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.django_db(transaction=True)
def test_terminated_backend_is_logged_and_the_next_write_reconnects(make_execution, caplog):
    row = make_execution()
    terminate_own_backend()
    caplog.set_level(logging.ERROR, logger="agentcore_task")

    assert TaskTracker.update_progress(row.task_id, percent=10) is None
    assert row.task_id in caplog.text

    again = TaskTracker.update_progress(row.task_id, percent=20)
    assert again is not None and again.metadata["progress_percent"] == 20


@pytest.mark.django_db(transaction=True)
@override_settings(AGENTCORE_TASK_STRICT=True)
def test_terminated_backend_raises_in_strict_mode(make_execution):
    from django.db import Error

    row = make_execution()
    terminate_own_backend()
    with pytest.raises(Error):
        TaskTracker.update_progress(row.task_id, percent=10)
    assert TaskTracker.update_progress(row.task_id, percent=11) is not None


def test_caller_mistakes_raise_even_when_the_database_is_down():
    """Validation happens before any SQL, so a bad call is a bad call whatever the database."""
    with pytest.raises(ValueError):
        TaskTracker.update_task_status("some-task", "FINISHED")
    with pytest.raises(ValueError):
        TaskTracker.update_progress("some-task", percent=150)
