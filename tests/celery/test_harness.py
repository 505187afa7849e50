"""The real worker harness itself: it runs tasks from this run's queue on the test database."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.celery.conftest import consumers_of
from tests.celery_tasks import plain_add

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_worker_runs_a_task_published_to_this_runs_queue(celery_worker_process):
    result = plain_add.delay(2, 3)
    assert result.get(timeout=30) == {"sum": 5, "inputs": [2, 3]}
    assert celery_worker_process.ping()


def test_the_session_worker_is_the_only_one_on_this_runs_queue(celery_worker_process):
    # A second worker (another module's, left running) would take half the tasks, and the
    # tests that terminate "the" worker's task or read its node name would fail at random.
    assert consumers_of(settings.CELERY_TASK_DEFAULT_QUEUE) == [celery_worker_process.hostname]
