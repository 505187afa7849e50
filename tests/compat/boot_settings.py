"""Settings for booting Django in a subprocess with a chosen INSTALLED_APPS and engine."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.postgres",  # Django 6 requires it for the GIN indexes (postgres.E005)
    *os.environ["BOOT_APPS"].split(","),
]
if os.environ.get("BOOT_ENGINE"):
    DATABASES = {"default": {"ENGINE": os.environ["BOOT_ENGINE"]}}
else:
    DATABASES = DATABASES

ROOT_URLCONF = "tests.compat.boot_urls"
