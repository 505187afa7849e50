"""Settings of the demo project. The database is found or started like the test suite's."""

from __future__ import annotations

from agentcore_task.testing.servers import database_settings_from_url, resolve_database_url

SECRET_KEY = "agentcore-task-demo-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "pgtrigger",
    "agentcore_task.adapters.django",
]

DATABASES = {"default": database_settings_from_url(resolve_database_url("agentcore_task_demo"))}
