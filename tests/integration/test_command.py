"""``manage.py agentcore_task``: each subcommand on real rows, through call_command."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from agentcore_task import runtime_config
from agentcore_task.models import TaskExecution
from agentcore_task.runtime_config import update_runtime_config
from agentcore_task.services.tracker import TaskTracker
from agentcore_task.status import TaskStatus
from tests.rows import backdate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_config_cache():
    runtime_config.clear_cache()
    yield
    runtime_config.clear_cache()


def run(*args: str) -> str:
    out = StringIO()
    call_command("agentcore_task", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def age(row: TaskExecution, days: float = 0, *, started_minutes: float | None = None) -> None:
    """Move a PENDING row into the past, as a DBA would; with ``started_minutes`` it becomes
    STARTED that long ago, and has not been written since."""
    backdate(
        row.pk,
        created_ago=dt.timedelta(days=days),
        started_ago=None if started_minutes is None else dt.timedelta(minutes=started_minutes),
        status=None if started_minutes is None else TaskStatus.STARTED,
    )


@pytest.fixture
def finished(make_execution: Any) -> Any:
    """Return a callable making a row with ``status``, created ``days`` ago."""

    def make(status: str = TaskStatus.SUCCESS, days: float = 0, **values: Any) -> TaskExecution:
        row = make_execution(**values)
        TaskTracker.update_task_status(row.task_id, status)
        age(row, days)
        return row

    return make


# --- help and arguments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subcommand", "words"),
    [
        ("cleanup", ["--retention-days", "--only-completed", "--all", "--batch-size", "--dry-run"]),
        ("mark-timeouts", ["--timeout-minutes", "--dry-run", "--no-sync"]),
        ("sync", ["TASK_ID", "--max"]),
        ("stats", ["--module", "--since", "--by-task-name"]),
    ],
)
def test_each_subcommand_documents_its_options(subcommand, words, capsys):
    with pytest.raises(SystemExit):
        call_command("agentcore_task", subcommand, "--help")
    text = capsys.readouterr().out
    for word in words:
        assert word in text


def test_the_command_without_a_subcommand_says_so():
    with pytest.raises(CommandError, match="SUBCOMMAND"):
        run()


@pytest.mark.parametrize(
    "args",
    [
        ["cleanup", "--retention-days", "0"],
        ["cleanup", "--retention-days", "ten"],
        ["cleanup", "--batch-size", "-1"],
        ["cleanup", "--only-completed", "--all"],
        ["mark-timeouts", "--timeout-minutes", "0"],
        ["sync", "--max", "0"],
        ["stats", "--since", "yesterday"],
    ],
)
def test_bad_option_values_are_errors_naming_the_option(args):
    with pytest.raises(CommandError) as raised:
        run(*args)
    option = next(arg for arg in reversed(args) if arg.startswith("--"))
    assert option in str(raised.value)


# --- stats ---------------------------------------------------------------------------------


def test_stats_prints_an_aligned_table_per_module_with_a_total_row(finished):
    finished(TaskStatus.SUCCESS, module="billing", task_name="billing.invoice")
    finished(TaskStatus.FAILURE, module="billing", task_name="billing.refund")
    finished(TaskStatus.PENDING, module="reports", task_name="reports.daily")

    lines = run("stats").splitlines()

    assert lines[0].split() == [
        "MODULE",
        "TOTAL",
        "PENDING",
        "STARTED",
        "SUCCESS",
        "FAILURE",
        "RETRY",
        "REVOKED",
    ]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert rows["billing"] == ["2", "0", "0", "1", "1", "0", "0"]
    assert rows["reports"] == ["1", "1", "0", "0", "0", "0", "0"]
    assert rows["(all)"] == ["3", "1", "0", "1", "1", "0", "0"]
    # Aligned: every line's TOTAL column ends at the same position.
    end = lines[0].index("TOTAL") + len("TOTAL")
    assert all(line[:end].endswith(line.split()[1]) for line in lines[2:])


def test_stats_filters_by_module_and_since_and_adds_task_names(finished):
    finished(module="billing", task_name="billing.invoice")
    finished(module="billing", task_name="billing.invoice", days=10)
    finished(module="reports", task_name="reports.daily")
    since = (dt.date.today() - dt.timedelta(days=2)).isoformat()

    text = run("stats", "--module", "billing", "--since", since, "--by-task-name")

    module_table, task_table = text.strip().split("\n\n")
    assert "reports" not in text
    assert "billing  " in module_table
    assert [line.split()[:2] for line in task_table.splitlines()[2:]] == [
        ["billing.invoice", "1"],
        ["(all)", "1"],
    ]


# --- sync ----------------------------------------------------------------------------------


@pytest.fixture
def celery_results(settings: Any) -> Any:
    """Make a Celery app with the tests' Redis result backend current; return its backend."""
    from celery import Celery, current_app

    previous = current_app._get_current_object()
    app = Celery(
        "agentcore-command-tests",
        broker=settings.CELERY_BROKER_URL,
        backend=settings.CELERY_RESULT_BACKEND,
        set_as_current=True,
    )
    stored: list[str] = []
    backend = app.backend
    original_store = backend.store_result

    def store(task_id: str, result: Any, state: str, **kwargs: Any) -> Any:
        stored.append(task_id)
        return original_store(task_id, result, state, **kwargs)

    backend.store_result = store
    yield backend
    for task_id in stored:
        backend.forget(task_id)
    previous.set_current()


def test_sync_copies_a_finished_state_for_the_given_task_ids(make_execution, celery_results):
    done = make_execution()
    waiting = make_execution()
    celery_results.store_result(done.task_id, {"rows": 3}, "SUCCESS")

    out = run("sync", done.task_id, waiting.task_id)

    assert f"{done.task_id}: now SUCCESS" in out
    assert f"{waiting.task_id}: unchanged, PENDING" in out
    done.refresh_from_db()
    assert (done.status, done.result) == (TaskStatus.SUCCESS, {"rows": 3})


def test_sync_of_an_unknown_task_id_says_so_and_fails(make_execution, celery_results):
    row = make_execution()
    out = StringIO()

    with pytest.raises(CommandError, match="1 of 2"):
        call_command("agentcore_task", "sync", "no-such-id", row.task_id, stdout=out)

    assert "no-such-id: no such execution" in out.getvalue()


def test_sync_without_task_ids_syncs_unfinished_rows_up_to_max(make_execution, celery_results):
    first, second = make_execution(), make_execution()
    for row in (first, second):
        celery_results.store_result(row.task_id, None, "STARTED")

    assert "Synced 1 unfinished execution(s) from Celery; 1 changed status." in run(
        "sync", "--max", "1"
    )
    statuses = set(TaskExecution.objects.values_list("status", flat=True))
    assert statuses == {TaskStatus.STARTED, TaskStatus.PENDING}
    # The STARTED row is still unfinished: it is asked again, and has no news.
    assert "Synced 2 unfinished execution(s) from Celery; 1 changed status." in run("sync")


# --- cleanup -------------------------------------------------------------------------------


def remaining() -> set[str]:
    return set(TaskExecution.objects.values_list("task_id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_cleanup_dry_run_counts_and_deletes_nothing(finished):
    finished(TaskStatus.SUCCESS, days=40)
    finished(TaskStatus.FAILURE, days=40)
    finished(TaskStatus.STARTED, days=40)  # unfinished: kept by default
    finished(TaskStatus.SUCCESS, days=5)

    out = run("cleanup", "--dry-run")

    assert "Dry run: 2 finished execution(s) created more than 30 day(s) ago" in out
    assert TaskExecution.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_cleanup_deletes_old_finished_rows_in_batches_with_progress(finished):
    old = {finished(TaskStatus.SUCCESS, days=40).task_id for _ in range(5)}
    unfinished = finished(TaskStatus.STARTED, days=40).task_id
    recent = finished(TaskStatus.SUCCESS, days=5).task_id

    out = run("cleanup", "--batch-size", "2")

    assert [line.strip() for line in out.splitlines() if line.startswith("  ")] == [
        "deleted 2 (total 2)",
        "deleted 2 (total 4)",
        "deleted 1 (total 5)",
    ]
    assert "Deleted 5 execution(s)" in out
    assert remaining() == {unfinished, recent}
    assert not old & remaining()


@pytest.mark.django_db(transaction=True)
def test_cleanup_all_and_retention_days_widen_what_goes(finished):
    finished(TaskStatus.STARTED, days=40)
    finished(TaskStatus.SUCCESS, days=8)
    kept = finished(TaskStatus.SUCCESS, days=5).task_id

    out = run("cleanup", "--retention-days", "7", "--all")

    assert "execution(s) of any status created more than 7 day(s) ago" in out
    assert remaining() == {kept}


@pytest.mark.django_db(transaction=True)
def test_cleanup_defaults_to_the_runtime_configuration(finished):
    finished(TaskStatus.SUCCESS, days=10)
    kept = finished(TaskStatus.SUCCESS, days=2).task_id
    update_runtime_config(retention_days=7)

    assert "more than 7 day(s) ago" in run("cleanup")
    assert remaining() == {kept}


# --- mark-timeouts ---------------------------------------------------------------------------


@pytest.fixture
def started(make_execution: Any) -> Any:
    """Return a callable making a STARTED row whose worker took it ``minutes`` ago."""

    def make(minutes: float) -> TaskExecution:
        row = make_execution()
        age(row, started_minutes=minutes)
        return row

    return make


def statuses() -> dict[str, str]:
    return dict(TaskExecution.objects.values_list("task_id", "status"))


def test_mark_timeouts_dry_run_counts_and_changes_nothing(started):
    started(60)
    started(2)

    out = run("mark-timeouts", "--dry-run")

    assert "Dry run: 1 running execution(s) without a sign of life for their timeout" in out
    assert "(default 10 minute(s))" in out
    assert set(statuses().values()) == {TaskStatus.STARTED}


def test_mark_timeouts_without_sync_marks_only_the_stale_rows(started):
    stale, fresh = started(60), started(20)

    out = run("mark-timeouts", "--timeout-minutes", "30", "--no-sync")

    assert "Synced" not in out
    assert "Marked 1 running execution(s)" in out
    assert "(default timeout 30 minute(s))" in out
    assert statuses() == {stale.task_id: TaskStatus.FAILURE, fresh.task_id: TaskStatus.STARTED}
    stale.refresh_from_db()
    assert "30 minutes" in stale.error


def test_mark_timeouts_syncs_first_so_a_finished_task_is_not_a_timeout(started, celery_results):
    really_done, stuck = started(60), started(60)
    celery_results.store_result(really_done.task_id, {"ok": True}, "SUCCESS")
    update_runtime_config(timeout_minutes=30)

    out = run("mark-timeouts")

    assert "changed status" in out
    assert "Marked 1 running execution(s)" in out
    assert "(default timeout 30 minute(s))" in out
    assert statuses() == {
        really_done.task_id: TaskStatus.SUCCESS,
        stuck.task_id: TaskStatus.FAILURE,
    }
