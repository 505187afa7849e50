"""A real ``celery beat -S django_celery_beat.schedulers:DatabaseScheduler`` keeps our rows' edits.

django_celery_beat's scheduler writes every entry of ``beat_schedule`` over its PeriodicTask
row when it starts. Our entries must not be among them: a runtime crontab (``PATCH config/``)
and an admin's edits of our rows have to survive every Beat start, while a missing row is
still created. Each Beat here is a process of its own against a database of its own (see
``beat_database``), started, left to tick, stopped and started again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.schedules import crontab
from django.conf import settings

from agentcore_task.beat import CLEANUP_BEAT_KEY, MARK_TIMEOUT_BEAT_KEY
from agentcore_task.tasks import CLEANUP_TASK_NAME, MARK_TIMEOUT_TASK_NAME

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
TICKED = "beat: Waking up"  # logged (DEBUG) after each pass over the schedule
START_TIMEOUT = 90.0
IMPORTED_WARNING = "DatabaseScheduler imported our Beat entries"


@pytest.fixture
def beat_env(beat_database: str) -> dict[str, str]:
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.beat_db_settings",
        BEAT_DB_NAME=beat_database,
        # Anything Beat sends goes to this run's own queue, which no other run consumes.
        AGENTCORE_TEST_CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
    )


@pytest.fixture
def step(beat_env: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """Return ``step(name, *args, **env)``: run one ``tests.beat_db_steps`` step; its JSON."""

    def run(name: str, *args: str, **env: str) -> dict[str, Any]:
        result = subprocess.run(
            [sys.executable, "-m", "tests.beat_db_steps", name, *args],
            capture_output=True,
            text=True,
            env={**beat_env, **env},
            cwd=ROOT,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout.strip().splitlines()[-1]))

    return run


@pytest.fixture
def run_beat(beat_env: dict[str, str]) -> Iterator[Callable[..., str]]:
    """Return ``run_beat(app=…, scheduler_option=True, **env)``: start Beat, wait for its first
    tick, stop it; return its log.

    ``scheduler_option=False`` leaves ``-S`` out (the settings then name the scheduler);
    ``schedule_file`` is where Celery's default scheduler keeps its state; ``env`` adds
    environment variables.
    """
    started: list[subprocess.Popen[bytes]] = []
    log_dir = Path(tempfile.mkdtemp(prefix="agentcore-beat-"))

    def run(
        app: str = "tests.celery_app",
        scheduler_option: bool = True,
        schedule_file: Path | None = None,
        **env: str,
    ) -> str:
        log_path = log_dir / f"beat-{len(started)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    app,
                    "beat",
                    *(["-S", SCHEDULER] if scheduler_option else []),
                    "--loglevel=DEBUG",
                    f"--schedule={schedule_file or log_dir / 'unused-schedule'}",
                    "--max-interval=1",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**beat_env, **env},
                cwd=ROOT,
                start_new_session=True,
            )
        started.append(process)
        deadline = time.monotonic() + START_TIMEOUT
        while TICKED not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Beat did not tick:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        return log_path.read_text(errors="replace")

    yield run
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_beat_creates_the_missing_rows_from_the_effective_configuration(step, run_beat):
    step("migrate")
    step("set-config", "mark_timeout_crontab", "*/7 * * * *")  # creates that row
    step("admin-delete", MARK_TIMEOUT_BEAT_KEY)
    assert step("snapshot")["tasks"] == {}

    log = run_beat()

    tasks = step("snapshot")["tasks"]
    assert tasks[CLEANUP_BEAT_KEY]["task"] == CLEANUP_TASK_NAME
    assert tasks[CLEANUP_BEAT_KEY]["crontab"] == "0 2 * * *"
    assert tasks[MARK_TIMEOUT_BEAT_KEY]["task"] == MARK_TIMEOUT_TASK_NAME
    assert tasks[MARK_TIMEOUT_BEAT_KEY]["crontab"] == "*/7 * * * *"
    assert all(task["enabled"] for task in tasks.values())
    # The scheduler of that very start runs them, not only the next one.
    for key in (CLEANUP_BEAT_KEY, MARK_TIMEOUT_BEAT_KEY):
        assert f"agentcore_task added {key!r} to the running DatabaseScheduler" in log
    assert IMPORTED_WARNING not in log


def test_a_runtime_crontab_survives_every_beat_start(step, run_beat):
    step("migrate")
    run_beat()  # the rows exist, with the settings' crontabs
    changed = step("set-config", "mark_timeout_crontab", "*/7 * * * *")
    assert changed["tasks"][MARK_TIMEOUT_BEAT_KEY]["crontab"] == "*/7 * * * *"

    run_beat()
    run_beat()

    seen = step("snapshot")
    assert seen["tasks"][MARK_TIMEOUT_BEAT_KEY]["crontab"] == "*/7 * * * *"
    assert seen["config"]["mark_timeout_crontab"] == "*/7 * * * *"
    assert seen["config"]["sources"]["mark_timeout_crontab"] == "database"
    assert seen["tasks"][CLEANUP_BEAT_KEY]["crontab"] == "0 2 * * *"


def test_admin_edits_of_our_rows_survive_a_beat_restart(step, run_beat):
    step("migrate")
    run_beat()
    step("admin-edit", CLEANUP_BEAT_KEY, "enabled=false")
    edited = step("admin-edit", MARK_TIMEOUT_BEAT_KEY, "crontab=5 * * * *", "queue=ops")["tasks"]

    run_beat()

    tasks = step("snapshot")["tasks"]
    assert tasks == edited
    assert tasks[CLEANUP_BEAT_KEY]["enabled"] is False
    assert (tasks[MARK_TIMEOUT_BEAT_KEY]["crontab"], tasks[MARK_TIMEOUT_BEAT_KEY]["queue"]) == (
        "5 * * * *",
        "ops",
    )


def test_a_runtime_crontab_change_moves_only_that_rows_schedule(step, run_beat):
    """PATCH config/ of one crontab keeps the admin's other edits, and the other row alone."""
    step("migrate")
    run_beat()
    step("admin-edit", CLEANUP_BEAT_KEY, "crontab=45 4 * * *")
    step("admin-edit", MARK_TIMEOUT_BEAT_KEY, "enabled=false", "queue=ops")

    tasks = step("set-config", "mark_timeout_crontab", "*/9 * * * *")["tasks"]

    assert tasks[MARK_TIMEOUT_BEAT_KEY]["crontab"] == "*/9 * * * *"
    assert tasks[MARK_TIMEOUT_BEAT_KEY]["enabled"] is False
    assert tasks[MARK_TIMEOUT_BEAT_KEY]["queue"] == "ops"
    assert tasks[CLEANUP_BEAT_KEY]["crontab"] == "45 4 * * *"
    run_beat()
    assert step("snapshot")["tasks"] == tasks


def test_a_beat_whose_scheduler_was_not_known_in_time_gets_the_runtime_crontab_back(step, run_beat):
    """django.setup() before Celery's command line: our entries were imported; we say so."""
    step("migrate")
    run_beat()
    step("set-config", "mark_timeout_crontab", "*/7 * * * *")

    log = run_beat(app="tests.celery_app_early")

    assert IMPORTED_WARNING in log and "CELERY_BEAT_SCHEDULER" in log
    seen = step("snapshot")
    assert seen["tasks"][MARK_TIMEOUT_BEAT_KEY]["crontab"] == "*/7 * * * *"
    assert seen["config"]["mark_timeout_crontab"] == "*/7 * * * *"


def test_the_setting_keeps_our_entries_out_even_after_an_early_django_setup(step, run_beat):
    step("migrate")
    run_beat()
    step("set-config", "mark_timeout_crontab", "*/7 * * * *")
    edited = step("admin-edit", CLEANUP_BEAT_KEY, "crontab=45 4 * * *", "queue=ops")["tasks"]

    log = run_beat(
        app="tests.celery_app_early", scheduler_option=False, BEAT_DB_SCHEDULER=SCHEDULER
    )

    assert IMPORTED_WARNING not in log
    assert "DatabaseScheduler" in log  # the banner names the scheduler the setting chose
    assert step("snapshot")["tasks"] == edited


def test_which_schedulers_count_as_django_celery_beats(step):
    step("migrate")
    names = [
        SCHEDULER,
        "django_celery_beat.schedulers.DatabaseScheduler",
        "django",
        "tests.beat_db_steps:SubclassedScheduler",
        "celery.beat:PersistentScheduler",
        "no.such.module:Scheduler",
    ]
    seen = step("detect", *names)
    assert seen["detected"] == {
        SCHEDULER: True,
        "django_celery_beat.schedulers.DatabaseScheduler": True,
        "django": True,  # django_celery_beat's alias: celery beat -S django
        "tests.beat_db_steps:SubclassedScheduler": True,
        "celery.beat:PersistentScheduler": False,
        "no.such.module:Scheduler": False,
    }
    # Outside Beat, with no CELERY_BEAT_SCHEDULER, the merge is as without django_celery_beat.
    assert seen["merged"] == sorted([CLEANUP_BEAT_KEY, MARK_TIMEOUT_BEAT_KEY])
    # The setting naming the scheduler (here by its alias) keeps them out in every process.
    assert step("detect", BEAT_DB_SCHEDULER="django")["merged"] == []


def test_celery_s_default_scheduler_still_gets_the_merged_entries(step, run_beat, tmp_path):
    """With django_celery_beat installed but not chosen, Beat runs our entries as before."""
    import shelve

    step("migrate")
    schedule_file = tmp_path / "celerybeat-schedule"

    run_beat(scheduler_option=False, schedule_file=schedule_file)

    with shelve.open(str(schedule_file), flag="r") as state:
        entries = dict(state["entries"])
    assert entries[CLEANUP_BEAT_KEY].task == CLEANUP_TASK_NAME
    assert str(entries[MARK_TIMEOUT_BEAT_KEY].schedule) == str(crontab(minute="*/30"))
    assert step("snapshot")["tasks"] == {}  # and nothing was written to django_celery_beat


def test_a_job_turned_off_in_the_settings_has_its_row_disabled_at_beat_start(step, run_beat):
    step("migrate")
    run_beat()
    before = step("snapshot")["tasks"]

    log = run_beat(BEAT_DB_CLEANUP_ENABLED="0")

    tasks = step("snapshot")["tasks"]
    assert tasks[CLEANUP_BEAT_KEY] == {**before[CLEANUP_BEAT_KEY], "enabled": False}  # kept
    assert tasks[MARK_TIMEOUT_BEAT_KEY] == before[MARK_TIMEOUT_BEAT_KEY]
    assert f"agentcore_task disabled the PeriodicTask {CLEANUP_BEAT_KEY!r}" in log
