"""The Celery app of the test suite, configured from Django settings (``CELERY_*``).

Imported by ``tests/__init__.py``, as a Django project imports its Celery app from its
package, so that it is Celery's current app in every test process; the real worker started
by ``tests/celery/conftest.py`` runs ``celery -A tests.celery_app worker``.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

app = Celery("tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.imports = ["tests.celery_tasks"]
app.autodiscover_tasks()  # the INSTALLED_APPS' tasks modules (agentcore_task.tasks)
