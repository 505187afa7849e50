"""Where and how long: the queue recorded by dispatch(), queue_wait, stats' queue waits."""

from __future__ import annotations

import datetime as dt

import pytest

from agentcore_task import dispatch, get_task_stats
from agentcore_task.models import TaskExecution
from agentcore_task.services.writes import update_task_status
from agentcore_task.status import TaskStatus
from tests.celery_tasks import plain_add
from tests.rows import execute_with_rules_lifted

pytestmark = pytest.mark.django_db


@pytest.fixture
def unsent(monkeypatch):
    """Keep dispatch() from publishing: these tests look at the row only."""
    sent = []
    monkeypatch.setattr(plain_add, "apply_async", lambda *a, **k: sent.append(k))
    return sent


def test_dispatch_records_the_queue_it_sends_to(unsent):
    row = dispatch(plain_add, [1, 2], queue="reports")

    assert TaskExecution.objects.get(pk=row.pk).queue == "reports"


def test_dispatch_records_the_default_queue_without_an_option(unsent, settings):
    row = dispatch(plain_add, [1, 2])

    assert TaskExecution.objects.get(pk=row.pk).queue == settings.CELERY_TASK_DEFAULT_QUEUE


def test_queue_wait_is_the_time_from_registration_to_start(make_execution):
    row = make_execution()
    execute_with_rules_lifted(
        "UPDATE agentcore_task_execution SET status = 'STARTED', "
        "created_at = now() - interval '90 seconds', started_at = now() WHERE id = %s",
        [row.pk],
    )

    assert TaskExecution.objects.get(pk=row.pk).queue_wait == pytest.approx(90, abs=1)


def test_queue_wait_is_none_for_a_row_that_finished_without_starting(make_execution):
    row = make_execution()
    update_task_status(row.task_id, TaskStatus.REVOKED)

    assert TaskExecution.objects.get(pk=row.pk).queue_wait is None


def test_stats_durations_give_the_median_and_95th_percentile_queue_wait(make_execution):
    waits = [10, 20, 30, 40, 100]
    for seconds in waits:
        row = make_execution(task_name="tests.waits")
        execute_with_rules_lifted(
            "UPDATE agentcore_task_execution SET status = 'SUCCESS', "
            "created_at = now() - %s::interval, started_at = now(), finished_at = now() "
            "WHERE id = %s",
            [dt.timedelta(seconds=seconds), row.pk],
        )

    durations = get_task_stats(include="durations", task_name="tests.waits")["durations"]

    figures = durations["tests.waits"]
    assert figures["queue_wait_p50"] == pytest.approx(30, abs=0.5)
    assert figures["queue_wait_p95"] == pytest.approx(88, abs=0.5)  # 40 + 0.8 * 60
    assert figures["count"] == 5
