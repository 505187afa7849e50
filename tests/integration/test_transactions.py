"""Writes made while the caller holds ``transaction.atomic()`` open, on real connections."""

from __future__ import annotations

import json
import threading

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from agentcore_task import TaskTracker, dispatch
from agentcore_task.models import TaskExecution
from agentcore_task.transactions import own_connection
from tests.celery_tasks import plain_add

pytestmark = pytest.mark.django_db(transaction=True)


def metadata_of(task_id: str) -> dict:
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        row = other.execute(
            "SELECT metadata FROM agentcore_task_execution WHERE task_id = %s", [task_id]
        ).fetchone()
    value = row[0] if row else {}
    return json.loads(value) if isinstance(value, str) else value  # Django's params load text


def test_writes_inside_the_callers_transaction_are_committed_at_once(make_execution):
    row = make_execution()
    with pytest.raises(RuntimeError), transaction.atomic():
        TaskTracker.update_progress(row.task_id, percent=40)
        assert metadata_of(row.task_id)["progress_percent"] == 40, "seen by other sessions"
        raise RuntimeError("the caller rolls back")
    assert metadata_of(row.task_id)["progress_percent"] == 40, "and kept"


def test_a_row_another_session_holds_is_waited_for_and_the_write_kept(make_execution):
    """The lock timeout of our own connection is no reason to join the caller's transaction
    when the lock is someone else's: the write waits like any write, and survives the
    caller's rollback."""
    row = make_execution()
    holder = psycopg.connect(**connection.get_connection_params())
    holder.execute(
        "SELECT 1 FROM agentcore_task_execution WHERE task_id = %s FOR UPDATE", [row.task_id]
    )
    timer = threading.Timer(3.0, holder.rollback)  # the other session lets go after 3 s
    timer.start()
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            written = TaskTracker.update_progress(row.task_id, percent=55)
            assert written is not None
            raise RuntimeError("the caller rolls back")
    finally:
        timer.join()
        holder.close()
    assert metadata_of(row.task_id)["progress_percent"] == 55


def test_a_row_the_callers_transaction_holds_is_written_inside_it(make_execution):
    row = make_execution()
    with transaction.atomic():
        TaskExecution.objects.filter(pk=row.pk).update(module="locked-by-me")  # holds the row
        first = TaskTracker.update_progress(row.task_id, percent=10)  # waits once, then joins
        own = own_connection(connection)
        with CaptureQueriesContext(own) as own_queries:
            second = TaskTracker.update_progress(row.task_id, percent=20)
        assert first is not None and second is not None
        assert own_queries.captured_queries == [], (
            "the second write goes straight to the caller's transaction, no lock wait first"
        )
        assert metadata_of(row.task_id) == {}, "not visible outside before the commit"
    assert metadata_of(row.task_id)["progress_percent"] == 20


def test_writes_for_a_row_dispatch_inserted_stay_in_the_callers_transaction():
    with transaction.atomic():
        execution = dispatch(plain_add, [1, 2], countdown=60)
        with CaptureQueriesContext(connection) as caller_queries:
            assert TaskTracker.update_progress(execution.task_id, message="queued") is not None
        assert any("agentcore_task_execution" in q["sql"] for q in caller_queries)
        transaction.set_rollback(True)
    assert not TaskExecution.objects.filter(task_id=execution.task_id).exists()
