"""What the tests that run tasks on the real worker share: their marks and small helpers."""

from __future__ import annotations

import pytest
from django.test import override_settings

from agentcore_task.models import TaskExecution

WORKER_TESTS = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker_process"),
]
"""``pytestmark`` of a module whose tests need the worker to see their committed rows."""

TRACKED = override_settings(AGENTCORE_TASK_AUTO_TRACK=["tests.tracked.*"])
"""Automatic tracking on in this (the publishing) process, as the worker has it."""


def row_of(task_id: str) -> TaskExecution | None:
    return TaskExecution.objects.filter(task_id=task_id).first()
