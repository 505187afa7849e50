"""Following the README's installation section gives a working API, browsable API included.

A project as ``django-admin startproject`` makes it (``tests/compat/startproject_settings.py``)
gets exactly the apps the README's ``INSTALLED_APPS`` block lists, in a process of its own
against the test database, and answers the requests a new user makes first.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.celery.conftest import database_url

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")

REQUESTS = """
import base64, json
import django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client

user, _ = get_user_model().objects.get_or_create(username="readme-user")
user.set_password("pw")
user.save()
auth = "Basic " + base64.b64encode(b"readme-user:pw").decode()
client = Client(raise_request_exception=False)
seen = {}
for name, path, accept in [
    ("browsable list", "/api/v1/tasks/executions/", "text/html"),
    ("browsable stats", "/api/v1/tasks/executions/stats/", "text/html"),
    ("json list", "/api/v1/tasks/executions/", "application/json"),
    ("schema", "/api/schema/?format=json", "*/*"),
    ("swagger ui", "/api/docs/", "text/html"),
]:
    response = client.get(path, HTTP_ACCEPT=accept, HTTP_AUTHORIZATION=auth)
    seen[name] = response.status_code
print(json.dumps(seen))
"""


def readme_installed_apps() -> list[str]:
    """Return the app names of the README's ``INSTALLED_APPS`` block, in order."""
    section = README[README.index("## Installation") : README.index("## Documentation")]
    block = re.search(r"INSTALLED_APPS = \[(.*?)\n\]", section, re.S)
    assert block, "no INSTALLED_APPS block in the README's installation section"
    return re.findall(r'^\s*"([\w.]+)",', block.group(1), re.M)


def answers(apps: list[str], **env: str) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", REQUESTS],
        capture_output=True,
        text=True,
        env=dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="tests.compat.startproject_settings",
            README_APPS=",".join(apps),
            DATABASE_URL=database_url(connection.settings_dict),
            **env,
        ),
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_readme_lists_the_apps_the_api_needs():
    assert readme_installed_apps() == [
        "django.contrib.postgres",  # Django 6 requires it for the GIN indexes
        "rest_framework",
        "django_filters",
        "drf_spectacular",
        "pgtrigger",
        "agentcore_task.adapters.django",
    ]


@pytest.mark.django_db(transaction=True)  # the other process must see the tables' rows
def test_a_project_following_the_readme_serves_every_page():
    assert answers(readme_installed_apps()) == {
        "browsable list": 200,
        "browsable stats": 200,
        "json list": 200,
        "schema": 200,
        "swagger ui": 200,
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("left_out", "broken"),
    [
        ("rest_framework", "browsable list"),
        ("django_filters", "browsable list"),
        ("drf_spectacular", "swagger ui"),
    ],
)
def test_each_app_the_readme_lists_is_needed(left_out, broken):
    seen = answers([app for app in readme_installed_apps() if app != left_out])
    assert seen[broken] == 500
    assert seen["json list"] == 200  # which is why a missing app goes unnoticed


@pytest.mark.django_db(transaction=True)
def test_without_the_readmes_schema_class_the_schema_view_fails():
    assert '"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"' in README
    assert answers(readme_installed_apps(), README_SCHEMA_CLASS="0")["schema"] == 500


def test_the_readme_shows_the_celery_app_import_of_the_project_package():
    assert "from .celery import app as celery_app" in README
    assert 'app.config_from_object("django.conf:settings", namespace="CELERY")' in README
