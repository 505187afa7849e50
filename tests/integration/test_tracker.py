"""Registration and updates through the public services, on a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import math
import uuid

import pytest
from django.db import connection
from django.test import override_settings

from agentcore_task.models import TaskExecution
from agentcore_task.services.registration import register_task_execution
from agentcore_task.services.tracker import TaskTracker
from agentcore_task.status import TaskStatus
from tests.conftest import new_task_id

pytestmark = pytest.mark.smoke  # also runs against the embedded servers in CI


def test_registering_a_task_id_twice_returns_the_same_row(make_execution):
    first = make_execution(metadata={"source": "api"})
    again = register_task_execution(first.task_id, "other.name", "other")

    assert again.pk == first.pk
    assert (again.task_name, again.module) == (first.task_name, first.module)
    assert TaskExecution.objects.filter(task_id=first.task_id).count() == 1


def test_second_registration_fills_creator_and_adds_missing_metadata_keys(
    make_execution, make_user
):
    user = make_user()
    first = make_execution(metadata={"source": "signal", "a": 1})
    again = register_task_execution(
        first.task_id,
        first.task_name,
        first.module,
        created_by=user,
        metadata={"source": "manual", "b": 2},
    )
    assert again.created_by_id == user.pk
    assert again.metadata == {"source": "signal", "a": 1, "b": 2}


def test_register_with_started_status_stamps_started_at(make_execution):
    row = make_execution(initial_status=TaskStatus.STARTED)
    assert row.status == TaskStatus.STARTED
    assert row.started_at is not None
    assert row.is_running and not row.is_completed


def test_register_stores_arguments_creator_and_metadata(make_execution, make_user):
    user = make_user()
    row = make_execution(
        task_args=(1, "two"), task_kwargs={"feed": 7}, created_by=user, metadata={"k": "v"}
    )
    stored = TaskExecution.objects.get(pk=row.pk)
    assert stored.task_args == [1, "two"]
    assert stored.task_kwargs == {"feed": 7}
    assert stored.created_by == user
    assert stored.metadata == {"k": "v"}
    assert stored.status == TaskStatus.PENDING


def test_anonymous_user_is_recorded_as_no_creator(make_execution):
    from django.contrib.auth.models import AnonymousUser

    assert make_execution(created_by=AnonymousUser()).created_by_id is None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"task_id": ""}, ValueError),
        ({"task_id": 12}, TypeError),
        ({"task_id": "x" * 256}, ValueError),
        ({"task_id": "a\x00b"}, ValueError),
        ({"module": ""}, ValueError),
        ({"task_name": None}, TypeError),
        ({"task_args": "abc"}, TypeError),
        ({"task_kwargs": [1]}, TypeError),
        ({"metadata": "x"}, TypeError),
        ({"created_by": "alice"}, TypeError),
        ({"initial_status": "DONE"}, ValueError),
    ],
)
@pytest.mark.django_db
def test_register_rejects_bad_arguments_before_writing(kwargs, error):
    values = {"task_id": new_task_id(), "task_name": "t.n", "module": "m"} | kwargs
    with pytest.raises(error):
        register_task_execution(**values)
    assert TaskExecution.objects.count() == 0


def test_update_status_merges_metadata_and_returns_the_row(make_execution):
    row = make_execution(metadata={"source": "api", "progress_percent": 0})
    updated = TaskTracker.update_task_status(
        row.task_id, TaskStatus.STARTED, metadata={"progress_percent": 10}
    )
    assert isinstance(updated, TaskExecution)
    assert updated.metadata == {"source": "api", "progress_percent": 10}


def test_update_status_stores_result_error_and_traceback(make_execution):
    row = make_execution()
    done = TaskTracker.update_task_status(row.task_id, "SUCCESS", result={"count": 3})
    assert done.result == {"count": 3} and done.is_completed and done.duration is None

    other = make_execution(initial_status="STARTED")
    failed = TaskTracker.update_task_status(
        other.task_id, "FAILURE", error=KeyError("feed"), traceback="Traceback…"
    )
    assert failed.error == "KeyError: 'feed'"
    assert failed.traceback == "Traceback…"
    assert failed.duration is not None and failed.duration >= 0


def test_update_status_of_an_unknown_task_id_returns_none_and_logs(db, caplog):
    caplog.set_level(logging.INFO, logger="agentcore_task")
    assert TaskTracker.update_task_status("no-such-task", TaskStatus.STARTED) is None
    assert "no-such-task" in caplog.text


@pytest.mark.parametrize("status", ["DONE", "success", "", None, 3])
def test_invalid_status_raises_and_is_never_stored(make_execution, status):
    row = make_execution()
    with pytest.raises((ValueError, TypeError)):
        TaskTracker.update_task_status(row.task_id, status)
    assert TaskExecution.objects.get(pk=row.pk).status == TaskStatus.PENDING


@override_settings(AGENTCORE_TASK_MAX_TRACEBACK_CHARS=200)
def test_long_traceback_is_cut_with_a_visible_marker(make_execution):
    row = make_execution()
    failed = TaskTracker.update_task_status(row.task_id, "FAILURE", traceback="x" * 10_000)
    assert len(failed.traceback) <= 200
    assert "truncated" in failed.traceback


@override_settings(AGENTCORE_TASK_MAX_RESULT_BYTES=1000)
def test_oversized_result_is_replaced_by_a_truncation_marker(make_execution):
    row = make_execution()
    done = TaskTracker.update_task_status(row.task_id, "SUCCESS", result={"blob": "y" * 5000})
    assert done.result["_truncated"] is True
    assert done.result["original_bytes"] > 5000


def test_update_progress_writes_the_progress_keys(make_execution):
    row = make_execution(metadata={"tenant": 4})
    TaskTracker.update_progress(row.task_id, percent=30, message="Parsing…", step="interpret")
    after = TaskTracker.update_progress(row.task_id, percent=60, records=120)
    assert after.metadata == {
        "tenant": 4,
        "progress_percent": 60,
        "progress_message": "Parsing…",
        "progress_step": "interpret",
        "records": 120,
    }
    assert after.progress_percent == 60
    assert after.status == TaskStatus.PENDING


@pytest.mark.parametrize("percent", [-1, 101, 50.5, "50", True])
def test_update_progress_rejects_a_bad_percent_before_writing(make_execution, percent):
    row = make_execution()
    with pytest.raises(ValueError, match="percent"):
        TaskTracker.update_progress(row.task_id, percent=percent)
    assert TaskExecution.objects.get(pk=row.pk).metadata == {}


def test_update_progress_needs_something_to_write(make_execution):
    with pytest.raises(ValueError):
        TaskTracker.update_progress(make_execution().task_id)


def test_append_metadata_appends_inside_the_update(make_execution):
    row = make_execution(metadata={"steps": "prepare"})
    TaskTracker.append_metadata(row.task_id, "steps", ["interpret"])
    after = TaskTracker.append_metadata(row.task_id, "steps", ("finalize", {"n": 1}))
    assert after.metadata["steps"] == ["prepare", "interpret", "finalize", {"n": 1}]
    assert TaskTracker.append_metadata(row.task_id, "new", [1]).metadata["new"] == [1]


def test_append_metadata_keeps_only_the_newest_items(make_execution):
    row = make_execution()
    for start in range(0, 30, 10):
        TaskTracker.append_metadata(row.task_id, "log", list(range(start, start + 10)), max_items=8)
    stored = TaskExecution.objects.get(pk=row.pk).metadata["log"]
    assert stored == list(range(22, 30))


@override_settings(AGENTCORE_TASK_METADATA_LIST_MAX_ITEMS=3)
def test_append_metadata_cap_comes_from_the_setting(make_execution):
    row = make_execution()
    after = TaskTracker.append_metadata(row.task_id, "log", ["a", "b", "c", "d", "e"])
    assert after.metadata["log"] == ["c", "d", "e"]


@pytest.mark.parametrize(("items", "max_items"), [(None, None), ("abc", None), ([1], 0)])
def test_append_metadata_rejects_bad_arguments(make_execution, items, max_items):
    with pytest.raises((TypeError, ValueError)):
        TaskTracker.append_metadata(make_execution().task_id, "log", items, max_items=max_items)


class Colour:
    def __repr__(self) -> str:
        return "<Colour red>"


def test_awkward_values_are_stored_without_raising(make_execution):
    awkward = {
        "when": dt.datetime(2026, 3, 29, 2, 30, tzinfo=dt.UTC),
        "day": dt.date(2026, 1, 1),
        "price": decimal.Decimal("12.30"),
        "id": uuid.UUID(int=7),
        "tags": {"b", "a"},
        "pair": (1, 2),
        "blob": b"\x00\xffabc",
        "nan": math.nan,
        "inf": -math.inf,
        "nul": "a\x00b",
        "key\x00": 1,
        5: "int key",
        "obj": Colour(),
        "error": ValueError("bad"),
    }
    row = make_execution(task_kwargs=awkward, metadata=awkward)
    done = TaskTracker.update_task_status(row.task_id, "SUCCESS", result=awkward)

    stored = TaskExecution.objects.get(pk=done.pk)
    for value in (stored.task_kwargs, stored.metadata, stored.result):
        assert value["tags"] == ["a", "b"] and value["pair"] == [1, 2]
        assert value["nan"] == "NaN" and value["inf"] == "-Infinity"
        assert "\x00" not in value["nul"] and value["5"] == "int key"
        assert value["price"] == "12.30" and value["when"].startswith("2026-03-29T02:30")
        assert "Colour red" in value["obj"]
        assert value["error"] == {"type": "ValueError", "message": "bad"}


def test_secrets_are_redacted_everywhere(make_execution):
    secret = {"user": "ann", "Password": "hunter2", "nested": [{"api_key": "k"}]}
    row = make_execution(task_args=[secret], task_kwargs=secret, metadata={"auth": secret})
    done = TaskTracker.update_task_status(row.task_id, "SUCCESS", result=secret)
    stored = TaskExecution.objects.get(pk=done.pk)
    flat = str([stored.task_args, stored.task_kwargs, stored.metadata, stored.result])
    assert "hunter2" not in flat and "'k'" not in flat
    assert stored.task_kwargs["user"] == "ann"
    assert stored.task_kwargs["Password"] == "[REDACTED]"


@override_settings(AGENTCORE_TASK_REDACT_KEYS=["ssn"])
def test_redaction_keys_come_from_the_setting(make_execution):
    row = make_execution(task_kwargs={"SSN": "123", "password": "shown"})
    assert row.task_kwargs == {"SSN": "[REDACTED]", "password": "shown"}


def test_get_task_returns_the_row_or_none(make_execution):
    row = make_execution()
    assert TaskTracker.get_task(row.task_id).pk == row.pk
    assert TaskTracker.get_task(row.task_id, sync=False).pk == row.pk
    assert TaskTracker.get_task("missing") is None


def test_tracker_methods_work_on_an_instance_too(make_execution):
    row = make_execution()
    assert TaskTracker().update_progress(row.task_id, percent=1).metadata["progress_percent"] == 1
    assert TaskTracker().register_task(row.task_id, "a", "b").pk == row.pk


def test_write_inside_caller_transaction_failing_does_not_poison_it(make_execution, caplog):
    """A lock timeout on our UPDATE rolls back to a savepoint, not the caller's transaction."""
    import psycopg

    row = make_execution()
    # The test transaction is not committed, so the row is invisible to another connection.
    # Hold a lock on a committed row instead: make one in a separate connection.
    params = connection.get_connection_params()
    other = psycopg.connect(**params, autocommit=True)
    try:
        other.execute(
            "INSERT INTO agentcore_task_execution (task_id, task_name, module)"
            " VALUES ('locked-row', 't', 'm')"
        )
        other.autocommit = False
        other.execute(
            "SELECT 1 FROM agentcore_task_execution WHERE task_id = 'locked-row' FOR UPDATE"
        )
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '100ms'")
        assert TaskTracker.update_progress("locked-row", percent=1) is None
        assert "locked-row" in caplog.text
        # the caller's transaction is still usable
        assert TaskTracker.update_progress(row.task_id, percent=2).metadata["progress_percent"] == 2
    finally:
        other.rollback()
        other.autocommit = True
        other.execute("DELETE FROM agentcore_task_execution WHERE task_id = 'locked-row'")
        other.close()


def test_update_returns_scalars_and_defers_payload_columns(make_execution):
    row = make_execution(metadata={"a": 1})
    updated = TaskTracker.update_task_status(row.task_id, "STARTED", metadata={"b": 2})

    deferred = updated.get_deferred_fields()
    payload = {"task_args", "task_kwargs", "result", "error", "traceback", "metadata"}
    assert deferred == {*payload, "status_history"}
    assert updated.status == "STARTED" and updated.started_at is not None
    assert updated.metadata == {"a": 1, "b": 2}  # loads on first access
    assert "metadata" not in updated.get_deferred_fields()


def test_registration_returns_the_full_row(make_execution):
    assert make_execution().get_deferred_fields() == set()


def test_a_column_added_by_a_dba_is_ignored(make_execution):
    row = make_execution()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # flush the deferred FK checks first
        cursor.execute("ALTER TABLE agentcore_task_execution ADD COLUMN dba_note text")
    again = register_task_execution(row.task_id, row.task_name, row.module)
    updated = TaskTracker.update_progress(row.task_id, percent=3)
    assert again.pk == row.pk and updated.pk == row.pk
    assert updated.metadata["progress_percent"] == 3


class UnprintableError(Exception):
    """An exception whose ``str()`` raises, as some third-party exceptions do."""

    def __str__(self) -> str:
        raise RuntimeError("__str__ is broken")


def test_an_exception_whose_str_raises_is_recorded_by_its_repr(make_execution):
    row = make_execution(initial_status="STARTED")

    written = TaskTracker.update_task_status(row.task_id, "FAILURE", error=UnprintableError(7))

    assert written is not None and written.status == "FAILURE"
    written.refresh_from_db()
    assert written.error == "UnprintableError: UnprintableError(7)"


@pytest.mark.django_db
def test_a_creator_id_without_a_user_is_stored_as_no_creator(caplog):
    missing_user_id = 987_654_321
    row = register_task_execution("ghost-creator", "t.n", "m", created_by=missing_user_id)

    assert row is not None and row.created_by_id is None
    assert "without a creator" in caplog.text and str(missing_user_id) in caplog.text
