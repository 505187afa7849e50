"""``manage.py agentcore_task revoke|retry|locks|release-lock``, each with ``--reason``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from agentcore_task.locks import acquire_task_lock, is_task_locked
from agentcore_task.models import TaskAction, TaskExecution
from agentcore_task.services.writes import update_task_status
from agentcore_task.status import TaskStatus
from tests.lock_workers import unique_name

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("agentcore_task", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_revoke_marks_the_rows_and_reports_the_finished_ones(make_execution):
    pending, done = make_execution(), make_execution()
    update_task_status(done.task_id, TaskStatus.SUCCESS)

    with pytest.raises(CommandError, match="1 of 2"):
        run("revoke", str(pending.pk), str(done.pk), "--reason", "maintenance")

    assert TaskExecution.objects.get(pk=pending.pk).status == TaskStatus.REVOKED
    (audit,) = TaskAction.objects.all()
    assert (audit.action, audit.source, audit.reason) == ("revoke", "command", "maintenance")


def test_retry_creates_a_linked_row(make_execution):
    failed = make_execution(task_name="tests.plain.add", task_args=[1, 2])
    update_task_status(failed.task_id, TaskStatus.FAILURE, error="x")

    output = run("retry", str(failed.pk), "--reason", "flaky")

    new = TaskExecution.objects.get(retry_of=failed)
    assert f"{failed.pk}: retried as {new.pk}" in output
    assert new.task_args == [1, 2]
    assert TaskAction.objects.get().reason == "flaky"


def test_an_unknown_id_is_reported(db):
    with pytest.raises(CommandError):
        assert "no such execution" in run("retry", "999999")


def test_locks_lists_and_release_lock_frees_with_a_reason():
    name = unique_name("command")
    assert acquire_task_lock(name, timeout=300)

    assert name in run("locks", "--backend", "cache")
    output = run("release-lock", name, "--reason", "stuck")

    assert "Released" in output and not is_task_locked(name)
    assert TaskAction.objects.get().reason == "stuck"
    with pytest.raises(CommandError, match="no backend holds"):
        run("release-lock", name)
