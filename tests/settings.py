"""Settings for the test suite: PostgreSQL and Redis only, never SQLite or a fake cache.

Importing these settings starts and probes nothing, so that ``tests/unit`` runs on a machine
with no server at all. The URLs come from ``DATABASE_URL`` / ``REDIS_URL`` when set (CI, a
developer's choice, or a child process of a run that already chose); otherwise they name the
local servers, and ``tests/conftest.py`` resolves the real ones (local, else embedded) and
calls ``use_servers`` before the first test that needs them. ``AGENTCORE_EMBEDDED=1`` skips
the local servers.
"""

from __future__ import annotations

import os
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from devservers.dburl import database_settings_from_url

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
    "django.contrib.postgres",
    "django.contrib.staticfiles",  # the dashboard's script and stylesheet, served in tests
    "rest_framework",
    "rest_framework.authtoken",  # token clients of the API and its live streams
    "django_filters",
    "drf_spectacular",
    "pgtrigger",
    "agentcore_task",
]

ROOT_URLCONF = "tests.urls"
STATIC_URL = "static/"
LOGIN_URL = "/accounts/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {"TITLE": "agentcore-task", "VERSION": "1"}

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A strict Content-Security-Policy on every response: the dashboard must work under it.
    "tests.csp.StrictContentSecurityPolicy",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
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


def _database(url: str) -> dict[str, Any]:
    entry = database_settings_from_url(url)
    entry["OPTIONS"].setdefault("connect_timeout", 5)
    return entry


def _cache(url: str) -> dict[str, Any]:
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "agentcore-task-tests",
    }


def _redis_database(url: str, number: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{number}"))


DATABASES = {
    "default": _database(
        os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/agentcore_task"
    )
}
# Run the suite on a database that already exists under this name instead of a new
# test_<NAME> (with --reuse-db): tests/migrations/test_adopt_original.py runs the API tests on
# a database adopted from the original's dump.
if os.environ.get("AGENTCORE_TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["AGENTCORE_TEST_DATABASE_NAME"]}
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
CACHES = {"default": _cache(REDIS_URL)}

# Celery (tests/celery_app.py reads the CELERY_* names). Broker and results live in their own
# Redis databases, apart from the cache. Other test runs may share this Redis: every run
# publishes to and consumes from a queue of its own, and worker processes started by the
# run inherit its name through the environment.
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

# A worker the operate tests start with the revoke check off shows what it guards against.
AGENTCORE_TASK_REVOKE_CHECK = os.environ.get("AGENTCORE_TEST_REVOKE_CHECK", "on") == "on"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"agentcore_task": {"level": "DEBUG"}},
}


def use_servers(database_url: str, redis_url: str) -> None:
    """Point the configured settings (and Celery) at the servers the run resolved.

    ``DATABASES`` is updated in place: Django's connection handler holds that very dict, and
    no connection has been opened yet. A cache backend may already exist (importing a test
    module can create one), so ``CACHES`` is announced through ``setting_changed``, the
    signal ``override_settings`` sends, whose receivers drop the cache handler's backends.
    """
    from django.conf import settings
    from django.test.signals import setting_changed

    from tests.celery_app import app

    settings.DATABASES["default"].update(_database(database_url))
    settings.REDIS_URL = redis_url
    settings.CACHES["default"].update(_cache(redis_url))
    setting_changed.send(sender=type(settings), setting="CACHES", value=settings.CACHES, enter=True)
    settings.CELERY_BROKER_URL = _redis_database(redis_url, 14)
    settings.CELERY_RESULT_BACKEND = _redis_database(redis_url, 15)
    app.conf.update(
        broker_url=settings.CELERY_BROKER_URL, result_backend=settings.CELERY_RESULT_BACKEND
    )
