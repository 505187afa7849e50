"""The stream under WSGI (one snapshot and ``retry:``), and the hub's fan-out in this process.

The hub test runs the real hub thread against the test database and two clients in an event
loop here: one reads, one never does. The one that never reads is dropped with a ``reset``
event after its small queue fills; the other receives every change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from agentcore_task.live.hub import Event, Hub
from agentcore_task.live.listener import APPLICATION
from agentcore_task.models import TaskExecution
from agentcore_task.services.registration import register_task_execution
from agentcore_task.services.writes import update_progress
from tests.conftest import new_task_id

pytestmark = pytest.mark.django_db(transaction=True)


def test_under_wsgi_a_stream_answers_one_snapshot_and_a_retry_hint(make_user):
    alice = make_user()
    task_id = new_task_id()
    register_task_execution(task_id, "tests.live.job", "tests", created_by=alice)
    client = APIClient()
    client.force_authenticate(alice)
    answer = client.get("/api/v1/tasks/executions/stream/", HTTP_ACCEPT="text/event-stream")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/event-stream")
    body = answer.content.decode()
    assert body.startswith("retry: 5000\n\n")
    assert "event: execution" in body and task_id in body
    row = TaskExecution.objects.get(task_id=task_id)
    detail = client.get(f"/api/v1/tasks/executions/{row.pk}/stream/")
    assert detail.status_code == 200 and task_id in detail.content.decode()


class AllOf:
    """A subscription to the given rows, rendered as their progress."""

    def __init__(self, ids: set[int]):
        self.ids = ids
        self.key = ("all-of", tuple(sorted(ids)))

    def select(self, ids: Sequence[int], using: str) -> list[Event]:
        rows = TaskExecution.objects.using(using).filter(pk__in=set(ids) & self.ids)
        return [Event("execution", r.metadata.get("progress_percent"), None, r.pk) for r in rows]


def write_and_close(task_id: str, percent: int) -> None:
    """A write from a thread of its own, which closes the connection that thread opened."""
    try:
        update_progress(task_id, percent=percent)
    finally:
        connection.close()


@override_settings(AGENTCORE_TASK_LIVE_QUEUE_SIZE=2, AGENTCORE_TASK_LIVE_POLL_SECONDS=0.05)
def test_a_slow_client_is_dropped_with_a_reset_and_never_slows_the_others():
    task_id = new_task_id()
    register_task_execution(task_id, "tests.live.job", "tests")
    row = TaskExecution.objects.get(task_id=task_id)

    async def scenario() -> tuple[list[object], list[list[Event]]]:
        hub = Hub()
        reader, sleeper = hub.subscribe(AllOf({row.pk})), hub.subscribe(AllOf({row.pk}))
        got: list[object] = []
        await asyncio.sleep(0.5)  # the hub thread is connected and polling
        for percent in range(1, 8):
            await asyncio.to_thread(write_and_close, task_id, percent)
            while percent not in got:
                batch = await asyncio.wait_for(reader.queue.get(), timeout=15)
                got.extend(event.data for event in batch)
        left = []
        while not sleeper.queue.empty():
            left.append(sleeper.queue.get_nowait())
        hub.unsubscribe(reader)
        hub.unsubscribe(sleeper)
        assert sleeper.dropped and not reader.dropped
        return got, left

    got, left = asyncio.run(scenario())
    with connection.cursor() as cursor:  # the hub closes its connection once no client is left
        for _ in range(100):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APPLICATION]
            )
            if cursor.fetchone()[0] == 0:
                break
            time.sleep(0.1)
    assert got[-7:] == [1, 2, 3, 4, 5, 6, 7]
    assert [[event.name for event in batch] for batch in left] == [["reset"]]


@override_settings(AGENTCORE_TASK_API_MAX_PAGE_SIZE=2)
def test_more_changes_since_last_event_id_than_a_page_give_a_reset_and_the_newest(make_user):
    alice = make_user()
    client = APIClient()
    client.force_authenticate(alice)
    task_ids = [new_task_id() for _ in range(4)]
    register_task_execution(task_ids[0], "tests.live.job", "tests", created_by=alice)
    first = client.get("/api/v1/tasks/executions/stream/").content.decode()
    since = first.split("id: ", 1)[1].split("\n", 1)[0]
    time.sleep(2.1)  # past the catch-up's look-back, so only later changes count
    for task_id in task_ids[1:]:
        register_task_execution(task_id, "tests.live.job", "tests", created_by=alice)

    few = client.get("/api/v1/tasks/executions/stream/", HTTP_LAST_EVENT_ID=since)
    body = few.content.decode()
    assert body.index("event: reset") < body.index("event: execution")
    assert [t for t in task_ids if t in body] == task_ids[2:]  # the newest page, oldest first
