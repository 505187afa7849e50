"""``manage.py agentcore_task watch`` as a script runs it: a real process, its output and status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from agentcore_task.services.registration import register_task_execution
from agentcore_task.services.writes import update_progress, update_task_status
from tests.celery.conftest import database_url
from tests.conftest import new_task_id

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def start_watch(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "django", "agentcore_task", "watch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="tests.live.settings",
            DATABASE_URL=database_url(connection.settings_dict),
        ),
        cwd=ROOT,
    )


def first_line(process: subprocess.Popen[str]) -> str:
    line = process.stdout.readline()
    assert line, process.stderr.read()
    return line


def run_to_the_end(task_id: str, outcome: str) -> subprocess.Popen[str]:
    register_task_execution(task_id, "tests.live.job", "tests")
    process = start_watch("--task-id", task_id, "--exit-on-finish", "--json")
    first_line(process)  # it has read the row: what follows are changes
    update_task_status(task_id, "STARTED")
    for percent in (25, 50, 75):
        update_progress(task_id, percent=percent, message=f"at {percent}")
        time.sleep(0.3)  # a change per poll, so each one is seen on its own
    update_task_status(task_id, outcome, error="boom" if outcome != "SUCCESS" else None)
    process.wait(timeout=60)
    return process


def test_exit_on_finish_exits_0_on_success_with_one_json_line_per_change():
    task_id = new_task_id()
    process = run_to_the_end(task_id, "SUCCESS")
    assert process.returncode == 0, process.stderr.read()
    events = [json.loads(line) for line in process.stdout.read().splitlines()]
    assert {e["task_id"] for e in events} == {task_id}
    assert [e["progress_percent"] for e in events if e["status"] == "STARTED"][-1] == 75
    assert events[-1]["status"] == "SUCCESS"


@pytest.mark.parametrize("outcome", ["FAILURE", "REVOKED"])
def test_exit_on_finish_exits_1_when_the_execution_fails_or_is_revoked(outcome):
    process = run_to_the_end(new_task_id(), outcome)
    assert process.returncode == 1
    assert "ended FAILURE or REVOKED" in process.stderr.read()


def test_without_a_terminal_or_json_it_prints_plain_lines_for_the_filters():
    wanted, other = new_task_id(), new_task_id()
    register_task_execution(wanted, "tests.live.plain", "reports")
    register_task_execution(other, "tests.live.plain", "billing")
    update_task_status(wanted, "STARTED")
    update_task_status(other, "STARTED")
    process = start_watch("--module", "reports", "--exit-on-finish")
    assert wanted[:8] in first_line(process)
    update_progress(other, percent=10, message="not this one")
    update_progress(wanted, percent=60, step="copy", message="copying")
    time.sleep(0.5)
    update_task_status(wanted, "SUCCESS")
    process.wait(timeout=60)
    output = process.stdout.read()
    assert process.returncode == 0
    assert " 60% copy: copying" in output
    assert "SUCCESS" in output
    assert other[:8] not in output


def test_a_bad_filter_is_an_error_naming_the_option():
    process = start_watch("--status", "DONE")
    process.wait(timeout=60)
    assert process.returncode == 1
    assert "--status" in process.stderr.read()
