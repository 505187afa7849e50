"""Settings for the test suite: PostgreSQL and Redis only, found or started on demand.

The servers are resolved here, not in conftest, because pytest-django configures Django before
any conftest is imported. Order: ``DATABASE_URL`` / ``REDIS_URL``; else the local servers on
127.0.0.1:5432 / :6379 if they answer; else throwaway embedded servers from PyPI, stopped
and deleted when the run ends. ``AGENTCORE_EMBEDDED=1`` skips the local servers.
"""

from __future__ import annotations

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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"agentcore_task": {"level": "DEBUG"}},
}
