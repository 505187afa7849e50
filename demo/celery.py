"""The demo's Celery app, wired the way Celery's Django guide does it.

``celery -A demo worker`` / ``celery -A demo beat`` find it through ``demo/__init__.py``.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

app = Celery("demo")
# Every CELERY_* setting in demo/settings.py configures this app (CELERY_BROKER_URL ->
# broker_url, CELERY_BEAT_SCHEDULE -> beat_schedule, ...).
app.config_from_object("django.conf:settings", namespace="CELERY")
# Loads tasks.py of every installed app: demo.tasks and agentcore_task's periodic jobs.
app.autodiscover_tasks()
