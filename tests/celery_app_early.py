"""The test suite's Celery app, in a project whose Celery module runs ``django.setup()`` itself.

Some projects do, so that their Celery module can import models at its top. Django's apps
are then ready before Celery's command line has been read, which is how
``tests/integration/test_beat_database_scheduler.py`` starts a Beat whose scheduler
``AppConfig.ready()`` cannot know yet.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from tests.celery_app import app  # noqa: E402  (after django.setup(), on purpose)

__all__ = ["app"]
