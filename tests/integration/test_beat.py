"""Beat entries: the merge into CELERY_BEAT_SCHEDULE honours every setting; the database sync."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys

import pytest
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings

from agentcore_task.beat import (
    CLEANUP_BEAT_KEY,
    MARK_TIMEOUT_BEAT_KEY,
    get_cleanup_beat_schedule,
    get_mark_timeout_beat_schedule,
    merge_beat_schedule,
    sync_beat_schedule_to_database,
)
from agentcore_task.tasks import CLEANUP_TASK_NAME, MARK_TIMEOUT_TASK_NAME

KEYS = {CLEANUP_BEAT_KEY, MARK_TIMEOUT_BEAT_KEY}


def merged(**settings_overrides):
    """Merge into a fresh schedule under the given settings; return the schedule."""
    schedule = settings_overrides.pop("CELERY_BEAT_SCHEDULE", {})
    with override_settings(CELERY_BEAT_SCHEDULE=schedule, **settings_overrides):
        merge_beat_schedule()
    return schedule


def test_by_default_both_entries_are_merged_with_the_spec_crontabs():
    schedule = merged()
    assert set(schedule) == KEYS
    assert schedule[CLEANUP_BEAT_KEY] == {
        "task": CLEANUP_TASK_NAME,
        "schedule": crontab(minute="0", hour="2"),
    }
    assert schedule[MARK_TIMEOUT_BEAT_KEY] == {
        "task": MARK_TIMEOUT_TASK_NAME,
        "schedule": crontab(minute="*/30"),
    }


def test_a_missing_celery_beat_schedule_is_created(settings):
    del settings.CELERY_BEAT_SCHEDULE
    merge_beat_schedule()
    assert set(settings.CELERY_BEAT_SCHEDULE) == KEYS


@pytest.mark.parametrize(
    ("setting", "absent"),
    [
        ("AGENTCORE_TASK_CLEANUP_ENABLED", CLEANUP_BEAT_KEY),
        ("AGENTCORE_TASK_MARK_TIMEOUT_ENABLED", MARK_TIMEOUT_BEAT_KEY),
    ],
)
def test_a_disabled_job_is_left_out(setting, absent):
    assert set(merged(**{setting: False})) == KEYS - {absent}


def test_custom_crontabs_are_used():
    schedule = merged(
        AGENTCORE_TASK_CLEANUP_CRONTAB="15 4 * * 1-5",
        AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB="*/5 * * * *",
    )
    assert schedule[CLEANUP_BEAT_KEY]["schedule"] == crontab(
        minute="15", hour="4", day_of_week="1-5"
    )
    assert schedule[MARK_TIMEOUT_BEAT_KEY]["schedule"] == crontab(minute="*/5")


@pytest.mark.parametrize("text", ["every night", "0 2 * *", "99 2 * * *", "0 2 * * * *", ""])
def test_an_unparsable_cleanup_crontab_falls_back_to_the_interval_with_a_warning(text, caplog):
    with caplog.at_level(logging.WARNING, logger="agentcore_task"):
        schedule = merged(
            AGENTCORE_TASK_CLEANUP_CRONTAB=text, AGENTCORE_TASK_CLEANUP_BEAT_INTERVAL_HOURS=6
        )
    assert schedule[CLEANUP_BEAT_KEY]["schedule"] == dt.timedelta(hours=6)
    assert "AGENTCORE_TASK_CLEANUP_CRONTAB does not parse" in caplog.text
    assert schedule[MARK_TIMEOUT_BEAT_KEY]["schedule"] == crontab(minute="*/30")


def test_the_fallback_interval_defaults_to_24_hours():
    schedule = merged(AGENTCORE_TASK_CLEANUP_CRONTAB="nope")
    assert schedule[CLEANUP_BEAT_KEY]["schedule"] == dt.timedelta(hours=24)


def test_an_unparsable_timeout_crontab_falls_back_to_30_minutes_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="agentcore_task"):
        schedule = merged(AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB="61 * * * *")
    assert schedule[MARK_TIMEOUT_BEAT_KEY]["schedule"] == dt.timedelta(minutes=30)
    assert "AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB does not parse" in caplog.text


def test_the_projects_own_entries_are_kept_untouched():
    mine = {"task": CLEANUP_TASK_NAME, "schedule": dt.timedelta(hours=3), "options": {"q": "x"}}
    other = {"task": "billing.tasks.charge", "schedule": 60.0}
    schedule = merged(CELERY_BEAT_SCHEDULE={CLEANUP_BEAT_KEY: mine, "billing": other})
    assert schedule[CLEANUP_BEAT_KEY] is mine
    assert schedule[CLEANUP_BEAT_KEY] == {
        "task": CLEANUP_TASK_NAME,
        "schedule": dt.timedelta(hours=3),
        "options": {"q": "x"},
    }
    assert schedule["billing"] is other
    assert MARK_TIMEOUT_BEAT_KEY in schedule


def test_a_celery_beat_schedule_that_is_not_a_dict_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="CELERY_BEAT_SCHEDULE must be a dict"):
        merged(CELERY_BEAT_SCHEDULE=[("a", "b")])


def test_the_public_getters_return_mergeable_entries():
    assert get_cleanup_beat_schedule(interval_hours=12) == {
        CLEANUP_BEAT_KEY: {"task": CLEANUP_TASK_NAME, "schedule": dt.timedelta(hours=12)}
    }
    assert set(get_mark_timeout_beat_schedule()) == {MARK_TIMEOUT_BEAT_KEY}
    with override_settings(AGENTCORE_TASK_CLEANUP_ENABLED=False):
        assert get_cleanup_beat_schedule(interval_hours=12) == {}
    with pytest.raises(ValueError, match="interval_hours"):
        get_cleanup_beat_schedule(interval_hours=0)
    with pytest.raises(TypeError, match="interval_hours"):
        get_cleanup_beat_schedule(interval_hours="12")


BOOT = """
import django, json
django.setup()
from django.conf import settings
from celery import Celery
app = Celery("boot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(force=True)
print(json.dumps({
    "settings": {key: [entry["task"], repr(entry["schedule"])]
                 for key, entry in settings.CELERY_BEAT_SCHEDULE.items()},
    "celery": sorted(app.conf.beat_schedule),
    "registered": sorted(name for name in app.tasks if name.startswith("agentcore_task.")),
}))
"""


@pytest.mark.parametrize("spelling", ["agentcore_task", "agentcore_task.adapters.django"])
def test_django_setup_merges_the_entries_and_celery_sees_them_and_the_tasks(spelling):
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.compat.boot_settings",
        BOOT_APPS=f"pgtrigger,{spelling}",
        BOOT_ENGINE="",
    )
    result = subprocess.run(
        [sys.executable, "-c", BOOT], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["settings"] == {
        CLEANUP_BEAT_KEY: [CLEANUP_TASK_NAME, "<crontab: 0 2 * * * (m/h/dM/MY/d)>"],
        MARK_TIMEOUT_BEAT_KEY: [MARK_TIMEOUT_TASK_NAME, "<crontab: */30 * * * * (m/h/dM/MY/d)>"],
    }
    assert seen["celery"] == sorted(KEYS)
    assert seen["registered"] == sorted([CLEANUP_TASK_NAME, MARK_TIMEOUT_TASK_NAME])


# --- django_celery_beat ----------------------------------------------------------------------


def test_syncing_to_the_database_without_django_celery_beat_names_the_fix():
    with pytest.raises(ImproperlyConfigured, match="pip install django-celery-beat"):
        sync_beat_schedule_to_database()


@pytest.mark.slow
def test_sync_to_django_celery_beat_creates_updates_and_disables_idempotently(beat_database):
    env = dict(
        os.environ, DJANGO_SETTINGS_MODULE="tests.beat_db_settings", BEAT_DB_NAME=beat_database
    )
    result = subprocess.run(
        [sys.executable, "-m", "tests.beat_db_check"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    steps = {step["step"]: step for step in map(json.loads, result.stdout.strip().splitlines())}
    cleanup = {"task": CLEANUP_TASK_NAME, "enabled": True, "crontab": "0 2 * * *"}
    timeout = {"task": MARK_TIMEOUT_TASK_NAME, "enabled": True, "crontab": "*/30 * * * *"}

    first = steps["first"]
    assert first["outcome"] == {CLEANUP_BEAT_KEY: "created", MARK_TIMEOUT_BEAT_KEY: "created"}
    assert first["tasks"] == {
        CLEANUP_BEAT_KEY: {**cleanup, "interval": None},
        MARK_TIMEOUT_BEAT_KEY: {**timeout, "interval": None},
    }
    # The entries django_celery_beat's scheduler builds (in Celery's time zone).
    assert first["scheduled"] == {
        CLEANUP_BEAT_KEY: "<crontab: 0 2 * * * (m/h/d/dM/MY), Europe/Berlin>",
        MARK_TIMEOUT_BEAT_KEY: "<crontab: */30 * * * * (m/h/d/dM/MY), Europe/Berlin>",
    }

    again = steps["again"]
    assert again["outcome"] == {CLEANUP_BEAT_KEY: "unchanged", MARK_TIMEOUT_BEAT_KEY: "unchanged"}
    assert (again["tasks"], again["crontab_rows"]) == (first["tasks"], first["crontab_rows"])

    override = steps["runtime override"]["tasks"][CLEANUP_BEAT_KEY]
    assert override["crontab"] == "30 3 * * *"

    disabled = steps["disabled"]
    assert disabled["outcome"][CLEANUP_BEAT_KEY] == "disabled"
    assert disabled["tasks"][CLEANUP_BEAT_KEY]["enabled"] is False
    assert set(disabled["scheduled"]) == {MARK_TIMEOUT_BEAT_KEY}
    assert steps["disabled again"]["outcome"][CLEANUP_BEAT_KEY] == "unchanged"

    unparsable = steps["unparsable"]
    assert unparsable["outcome"][CLEANUP_BEAT_KEY] == "updated"
    assert unparsable["tasks"][CLEANUP_BEAT_KEY] == {
        "task": CLEANUP_TASK_NAME,
        "enabled": True,
        "crontab": None,
        "interval": [6, "hours"],
    }
    assert unparsable["scheduled"][CLEANUP_BEAT_KEY] == "<freq: 6.00 hours>"
