"""A project as ``django-admin startproject`` makes it, plus the apps the README lists.

``README_APPS`` (comma-separated) are appended to startproject's ``INSTALLED_APPS``, as the
README's ``# ...`` says; the database is the test suite's (``DATABASE_URL``). Used by
``tests/compat/test_readme_install.py`` to check that following the README gives a working API.
"""

from __future__ import annotations

import os

from devservers.dburl import database_settings_from_url

SECRET_KEY = "readme-install-check"
DEBUG = False
ALLOWED_HOSTS = ["*"]
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
    *[app for app in os.environ["README_APPS"].split(",") if app],
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tests.compat.startproject_urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_settings_from_url(os.environ["DATABASE_URL"])}
STATIC_URL = "static/"

# What the README's installation section adds besides INSTALLED_APPS (README_SCHEMA_CLASS=0
# leaves it out, to show what it is for).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.BasicAuthentication"],
}
if os.environ.get("README_SCHEMA_CLASS", "1") == "1":
    REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
