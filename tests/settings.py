"""Settings for the test suite: PostgreSQL and Redis only, found or started on demand.

The servers are resolved here, not in conftest, because pytest-django configures Django before
any conftest is imported. Order: ``DATABASE_URL`` / ``REDIS_URL``; else the local servers on
127.0.0.1:5432 / :6379 if they answer; else throwaway embedded servers from PyPI, stopped
and deleted when the run ends. ``AGENTCORE_EMBEDDED=1`` skips the local servers.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

from agentcore_task.testing.servers import (
    database_settings_from_url,
    resolve_database_url,
    resolve_redis_url,
)

SECRET_KEY = "agentcore-task-tests"
DEBUG = False
USE_TZ = True
TIME_ZONE = "Europe/Berlin"  # not UTC, so time-zone mistakes show up in tests
ALLOWED_HOSTS = ["*"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "pgtrigger",
    "agentcore_task",
]

ROOT_URLCONF = "tests.urls"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {"TITLE": "agentcore-task", "VERSION": "1"}

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.request",
            ]
        },
    }
]

DATABASES = {"default": database_settings_from_url(resolve_database_url("agentcore_task"))}
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

REDIS_URL = resolve_redis_url()
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "agentcore-task-tests",
    }
}

# Celery (tests/celery_app.py reads the CELERY_* names). Broker and results live in their own
# Redis databases, apart from the cache. Other test runs may share this Redis: every run
# publishes to and consumes from a queue of its own, and worker processes started by the
# run inherit its name through the environment.


def _redis_database(url: str, number: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{number}"))


CELERY_BROKER_URL = _redis_database(REDIS_URL, 14)
CELERY_RESULT_BACKEND = _redis_database(REDIS_URL, 15)
CELERY_TASK_DEFAULT_QUEUE = os.environ.setdefault(
    "AGENTCORE_TEST_CELERY_QUEUE", f"agentcore-tests-{uuid.uuid4().hex}"
)
CELERY_TASK_TRACK_STARTED = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Off in the test process (tests turn it on with override_settings); the real worker of
# tests/celery/conftest.py gets its task-name patterns through this variable.
_TRACKED_PATTERNS = os.environ.get("AGENTCORE_TEST_AUTO_TRACK", "")
AGENTCORE_TASK_AUTO_TRACK = tuple(_TRACKED_PATTERNS.split(",")) if _TRACKED_PATTERNS else False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"agentcore_task": {"level": "DEBUG"}},
}
