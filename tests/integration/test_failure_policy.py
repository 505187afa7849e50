"""A failure to record never raises into the caller's task; strict mode raises it."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading

import psycopg
import pytest
from django.db import connection
from django.test import override_settings

from agentcore_task.services.tracker import TaskTracker

CALLS = """
import logging, sys, django
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(message)s")
django.setup()
from agentcore_task import TaskTracker, register_task_execution
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


def run_with_database(
    url: str, strict: bool = False, pause: float | None = 0
) -> subprocess.CompletedProcess[str]:
    """Run CALLS in a fresh process against ``url``; ``pause`` sets the write pause (None:
    the default)."""
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="tests.settings")
    overrides = []
    if strict:
        overrides.append("settings.AGENTCORE_TASK_STRICT = True")
    if pause is not None:
        overrides.append(f"settings.AGENTCORE_TASK_WRITE_PAUSE_SECONDS = {pause}")
    code = CALLS.replace(
        "django.setup()",
        "from django.conf import settings; django.setup(); " + "; ".join(overrides),
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
def test_a_write_after_the_backend_was_terminated_is_retried_on_a_fresh_connection(
    make_execution, caplog
):
    row = make_execution()
    terminate_own_backend()
    caplog.set_level(logging.ERROR, logger="agentcore_task")

    written = TaskTracker.update_task_status(row.task_id, "SUCCESS", result={"n": 1})

    assert written is not None and written.status == "SUCCESS", "the final write is not lost"
    assert not caplog.records


@pytest.mark.django_db(transaction=True)
@override_settings(AGENTCORE_TASK_STRICT=True)
def test_a_terminated_backend_is_retried_in_strict_mode_too(make_execution):
    row = make_execution()
    terminate_own_backend()
    assert TaskTracker.update_progress(row.task_id, percent=10) is not None


@pytest.mark.django_db(transaction=True)
def test_a_failure_of_the_statement_itself_is_not_retried(make_execution, caplog):
    """A statement the server ran and refused (here: cancelled by a lock timeout) stays
    failed: only a lost connection is retried."""
    row = make_execution()
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("SELECT 1 FROM agentcore_task_execution WHERE id = %s FOR UPDATE", [row.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '100ms'")
        try:
            assert TaskTracker.update_progress(row.task_id, percent=1) is None
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "lock" in errors[0].getMessage().lower()


def black_hole() -> tuple[socket.socket, list[socket.socket]]:
    """Listen on a free port, accept connections and never answer: a hung server."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return server, accepted


def test_a_hung_server_costs_one_connect_timeout_then_writes_pause():
    server, accepted = black_hole()
    port = server.getsockname()[1]
    try:
        result = run_with_database(
            f"postgresql://postgres@127.0.0.1:{port}/hung?connect_timeout=1", pause=None
        )
    finally:
        server.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["register", "None", "status", "None", "progress",
                                     "None", "get", "None"]  # fmt: skip
    # One write and its one retry reached the server; the three calls after it were
    # skipped during the pause instead of waiting for their own timeouts.
    assert len(accepted) == 2
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "skipping its writes" in warnings[0]


def test_caller_mistakes_raise_even_when_the_database_is_down():
    """Validation happens before any SQL, so a bad call is a bad call whatever the database."""
    with pytest.raises(ValueError):
        TaskTracker.update_task_status("some-task", "FINISHED")
    with pytest.raises(ValueError):
        TaskTracker.update_progress("some-task", percent=150)
