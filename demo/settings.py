"""Settings of the demo project: a Django + Celery project that records its tasks.

Everything that differs between machines comes from the environment, as in a deployed project:

``DATABASE_URL``
    PostgreSQL (default ``postgresql://postgres@127.0.0.1:5432/agentcore_task_demo``).
    ``python -m demo`` sets it to an embedded server when no PostgreSQL answers.
``REDIS_URL``
    Redis for the Celery broker, the result backend and the cache (task locks). Without it
    the broker and the results stay in memory, which only a worker inside the same process
    sees: ``python -m demo`` runs one in a thread.
``DJANGO_SECRET_KEY``, ``DJANGO_DEBUG``, ``DJANGO_ALLOWED_HOSTS``
    The usual.
"""

from __future__ import annotations

import os

import dj_database_url

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "agentcore-task-demo-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # Django 6 requires it for agentcore_task's GIN indexes
    "rest_framework",
    "django_filters",  # the API's filters
    "drf_spectacular",  # the OpenAPI schema
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here: works offline
    "pgtrigger",  # required by agentcore_task: it installs the status-rule trigger
    "agentcore_task.adapters.django",
    "demo",  # so that Celery's autodiscovery finds demo/tasks.py
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "demo.urls"
WSGI_APPLICATION = "demo.wsgi.application"
STATIC_URL = "static/"
# The dashboard (/tasks/) sends visitors here to sign in: DRF's login page, for any user.
LOGIN_URL = "/api-auth/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASE_URL = (
    os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/agentcore_task_demo"
)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
# Fail fast when the server is unreachable instead of hanging a worker.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

REDIS_URL = os.environ.get("REDIS_URL", "")

# --- The API -------------------------------------------------------------------------------
# The executions API uses the project's authentication: sessions (the browsable API and the
# admin) and HTTP Basic, so that `curl -u demo:demo .../api/v1/tasks/executions/` works.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "agentcore-task demo",
    "DESCRIPTION": "Task executions recorded by agentcore_task. Log in as demo / demo.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery (read by demo/celery.py: CELERY_FOO configures Celery's `foo`) ------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.2}
# A queue of the demo's own, so that it never takes (or leaves) work on a shared Redis.
CELERY_TASK_DEFAULT_QUEUE = "agentcore-demo"
CELERY_TASK_TRACK_STARTED = True
CELERY_TIMEZONE = TIME_ZONE
# Celery beat (docker compose) sends a new round of sample tasks every 20 seconds;
# agentcore_task adds its own cleanup and timeout jobs to this schedule.
CELERY_BEAT_SCHEDULE = {
    "demo-send-samples": {
        "task": "demo.tasks.send_samples",
        "schedule": 20.0,
        "kwargs": {"username": "demo"},
    }
}

# --- Cache and task locks --------------------------------------------------------------------
if REDIS_URL:
    # The production setup: @prevent_duplicate_task locks live in Redis.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "agentcore-demo",
        }
    }
else:
    # No Redis: PostgreSQL advisory locks, which work across processes without one.
    AGENTCORE_TASK_LOCK_BACKEND = "advisory"

# --- agentcore_task ------------------------------------------------------------------------
# These tasks get their row and status from Celery signals, with no code in the task (fnmatch
# patterns; True would track every task). The others in demo/tasks.py register by hand.
AGENTCORE_TASK_AUTO_TRACK = ["demo.tasks.build_report", "demo.tasks.sync_*"]
# Executions still STARTED after this many minutes are marked FAILURE by the timeout job.
AGENTCORE_TASK_TIMEOUT_MINUTES = 10
