"""``manage.py agentcore_task`` run as a shell runs it: the exit status of each kind of outcome.

``call_command`` turns every error into a ``CommandError``; only a real process shows which
exit status a script or a cron job sees, and docs/operations.md documents these.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.celery.conftest import database_url

pytestmark = pytest.mark.django_db(transaction=True)  # the command's process reads the tables

ROOT = Path(__file__).resolve().parents[2]


def command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "django", "agentcore_task", *args],
        capture_output=True,
        text=True,
        env=dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="tests.settings",
            DATABASE_URL=database_url(connection.settings_dict),
        ),
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["stats"],
        ["cleanup", "--dry-run"],
        ["mark-timeouts", "--dry-run", "--no-sync"],
        ["sync", "--max", "5"],
    ],
)
def test_success_is_status_0(args):
    result = command(*args)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ([], "SUBCOMMAND"),
        (["vacuum"], "invalid choice: 'vacuum'"),
        (["stats", "--colour"], "--colour"),
        (["cleanup", "--retention-days", "abc"], "--retention-days"),
        (["cleanup", "--batch-size", "0"], "--batch-size"),
        (["mark-timeouts", "--timeout-minutes", "-5"], "--timeout-minutes"),
        (["sync", "--max", "x"], "--max"),
    ],
)
def test_what_the_argument_parser_refuses_is_status_2_with_the_usage(args, named):
    result = command(*args)
    assert result.returncode == 2, result.stderr
    assert named in result.stderr and "usage:" in result.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["stats", "--since", "yesterday"], "--since"),
        (["sync", "--max", "3", "some-task-id"], "--max"),
        (["sync", "no-such-task-id"], "1 of 1 execution(s) could not be synced"),
    ],
)
def test_what_the_subcommand_refuses_or_cannot_do_is_status_1(args, named):
    result = command(*args)
    assert result.returncode == 1, result.stderr
    assert f"CommandError: {named}" in result.stderr or named in result.stderr
    assert "Traceback" not in result.stderr
