"""Settings with django_celery_beat installed, for the DatabaseScheduler sync test.

Used in a subprocess (``tests/beat_db_check.py``) against a database of its own, so that
django_celery_beat's tables never enter the main test database.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django_celery_beat"]
DATABASES = {"default": {**DATABASES["default"], "NAME": os.environ["BEAT_DB_NAME"]}}

# Set by a test to configure the scheduler in the settings rather than with ``beat -S``.
if os.environ.get("BEAT_DB_SCHEDULER"):
    CELERY_BEAT_SCHEDULER = os.environ["BEAT_DB_SCHEDULER"]

# Set to "0" by a test to turn the cleanup job off in the settings.
AGENTCORE_TASK_CLEANUP_ENABLED = os.environ.get("BEAT_DB_CLEANUP_ENABLED", "1") == "1"
