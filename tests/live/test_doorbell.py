"""The doorbell: a notification on insert and on status change, none on a progress merge.

A second connection LISTENs, as the hub does, and the writes go through the library's own
services (committed: ``transaction=True``), so what is asserted is what a listener receives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection
from django.test import override_settings

from agentcore_task.doorbell import CHANNEL, MAX_PAYLOAD_BYTES
from agentcore_task.models import TaskExecution
from agentcore_task.services.doorbell import apply_notify_setting, doorbell_state
from agentcore_task.services.registration import register_task_execution
from agentcore_task.services.writes import update_progress, update_task_status
from tests.celery.conftest import database_url
from tests.conftest import new_task_id

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listening() -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as listener:
        listener.execute(f'LISTEN "{CHANNEL}"')
        yield listener


def received(listener: psycopg.Connection, timeout: float = 0.5) -> list[dict]:
    """Every notification that arrives within ``timeout`` of the last one."""
    return [json.loads(n.payload) for n in listener.notifies(timeout=timeout)]


def test_insert_and_status_changes_ring_with_the_row_version(listening):
    task_id = new_task_id()
    register_task_execution(task_id, "tests.live.bell", "tests")
    update_task_status(task_id, "STARTED")
    update_task_status(task_id, "SUCCESS", result=1)

    row = TaskExecution.objects.get(task_id=task_id)
    payloads = received(listening)
    assert [p["status"] for p in payloads] == ["PENDING", "STARTED", "SUCCESS"]
    assert {p["id"] for p in payloads} == {row.pk}
    assert payloads[-1]["updated_at"] == row.updated_at.isoformat()


def test_progress_merges_and_repeated_statuses_ring_nothing(listening):
    task_id = new_task_id()
    register_task_execution(task_id, "tests.live.bell", "tests")
    update_task_status(task_id, "STARTED")
    received(listening)
    for percent in (10, 20, 30):
        update_progress(task_id, percent=percent, message="working")
    update_task_status(task_id, "STARTED", metadata={"progress_percent": 40})

    assert received(listening) == []


def test_the_longest_payload_fits_far_below_postgresqls_limit():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT octet_length(json_build_object('id', 9223372036854775807::bigint, "
            "'status', repeat('X', 20), 'updated_at', "
            "'294276-12-31 23:59:59.999999+00'::timestamptz)::text)"
        )
        (longest,) = cursor.fetchone()
    assert longest <= MAX_PAYLOAD_BYTES < 8000


def test_notify_false_disables_the_doorbell_at_migrate_and_true_restores_it(listening):
    try:
        with override_settings(AGENTCORE_TASK_NOTIFY=False):
            apply_notify_setting(using="default")
        assert set(doorbell_state().values()) == {False}
        register_task_execution(new_task_id(), "tests.live.bell", "tests")
        assert received(listening) == []
    finally:
        apply_notify_setting(using="default")
    assert set(doorbell_state().values()) == {True}
    register_task_execution(new_task_id(), "tests.live.bell", "tests")
    assert [p["status"] for p in received(listening)] == ["PENDING"]


def test_migrate_applies_the_setting(listening):
    from django.core.management import call_command

    try:
        with override_settings(AGENTCORE_TASK_NOTIFY=False):
            call_command("migrate", verbosity=0)
        assert set(doorbell_state().values()) == {False}
    finally:
        call_command("migrate", verbosity=0)
    assert set(doorbell_state().values()) == {True}
