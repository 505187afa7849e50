"""Settings for generating the API reference (``docs/reference_urls.py``): no server is contacted.

The schema depends on the app's URLconf and DRF settings only, so the database settings
point at nothing and are never used.
"""

from __future__ import annotations

SECRET_KEY = "agentcore-task-docs"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "pgtrigger",
    "agentcore_task",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused"}}
ROOT_URLCONF = "docs.reference_urls"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {"TITLE": "agentcore-task", "VERSION": "1"}
