"""Each supported INSTALLED_APPS spelling boots; broken installs fail with the fix named."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BOOT = (
    "import django; django.setup();"
    "from django.apps import apps; from django.core.management import call_command;"
    "config = apps.get_app_config('agentcore_task');"
    "print('LABEL', config.label, config.name);"
    "from agentcore_task.models import TaskExecution; print('TABLE', TaskExecution._meta.db_table);"
    "call_command('check')"
)


def boot(apps: str, engine: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.compat.boot_settings", BOOT_APPS=apps)
    env["BOOT_ENGINE"] = engine
    return subprocess.run(
        [sys.executable, "-c", BOOT], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.smoke  # the system checks differ between Django versions
@pytest.mark.parametrize("spelling", ["agentcore_task", "agentcore_task.adapters.django"])
def test_each_installed_apps_spelling_boots(spelling):
    result = boot(f"pgtrigger,{spelling}")
    assert result.returncode == 0, result.stderr
    assert "LABEL agentcore_task agentcore_task" in result.stdout
    assert "TABLE agentcore_task_execution" in result.stdout


def test_missing_pgtrigger_is_a_system_check_error_with_the_fix():
    result = boot("agentcore_task")
    assert result.returncode != 0
    assert "agentcore_task.E001" in result.stderr
    assert "Add 'pgtrigger' to INSTALLED_APPS" in result.stderr


@pytest.mark.smoke  # the system checks differ between Django versions
def test_a_database_other_than_postgresql_is_refused():
    result = boot("pgtrigger,agentcore_task", engine="django.db.backends.dummy")
    assert result.returncode != 0
    assert "agentcore_task.E002" in result.stderr
    assert "needs PostgreSQL" in result.stderr
