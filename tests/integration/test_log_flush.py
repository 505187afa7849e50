"""TaskLogCollector.flush stores its records on the execution row through the append."""

from __future__ import annotations

import logging

import pytest

from agentcore_task.models import TaskExecution
from agentcore_task.services.logs import TaskLogCollector

pytestmark = pytest.mark.smoke  # also runs against the embedded servers in CI


def test_flush_appends_records_to_metadata_and_clears(make_execution):
    row = make_execution()
    collector = TaskLogCollector()
    collector.info("first")
    collector.error("boom", exception=RuntimeError("disk full"))

    assert collector.flush(row.task_id) is True
    assert len(collector) == 0
    collector.warning("second batch")
    assert collector.flush(row.task_id) is True

    logs = TaskExecution.objects.get(pk=row.pk).metadata["logs"]
    assert [entry["message"] for entry in logs] == ["first", "boom", "second batch"]
    assert logs[1]["exception"] == "RuntimeError: disk full"


def test_flush_of_captured_logging_records_under_a_custom_key(make_execution):
    row = make_execution()
    collector = TaskLogCollector()
    with collector.capture("tests.worker"):
        logging.getLogger("tests.worker").warning("slow feed %s", 7)
    assert collector.flush(row.task_id, key="audit")
    stored = TaskExecution.objects.get(pk=row.pk).metadata["audit"]
    assert stored[0]["level"] == "WARNING" and stored[0]["message"] == "slow feed 7"


def test_flush_for_an_unknown_task_keeps_the_records(db):
    collector = TaskLogCollector()
    collector.info("kept")
    assert collector.flush("unknown-task") is False
    assert [entry["message"] for entry in collector.get_logs()] == ["kept"]
