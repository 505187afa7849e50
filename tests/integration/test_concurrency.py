"""Concurrent writers from several processes lose nothing."""

from __future__ import annotations

import threading

import pytest

from agentcore_task.models import TaskExecution
from agentcore_task.services.registration import register_task_execution
from agentcore_task.services.tracker import TaskTracker
from tests.processes import run_in_processes

PROCESSES = 8
UPDATES = 150


def merge_keys(task_id: str, worker: int, count: int) -> int:
    """Merge ``count`` distinct keys into one row; return how many calls returned a row."""
    written = 0
    for number in range(count):
        row = TaskTracker.update_task_status(
            task_id, "STARTED", metadata={f"w{worker}_{number}": number}
        )
        written += row is not None
    return written


def append_items(task_id: str, worker: int, count: int) -> int:
    written = 0
    for number in range(count):
        written += (
            TaskTracker.append_metadata(task_id, "events", [f"{worker}:{number}"]) is not None
        )
    return written


def register_same_id(task_id: str, worker: int) -> int:
    row = register_task_execution(task_id, "tests.race", "tests", metadata={f"w{worker}": 1})
    assert row is not None
    return row.pk


@pytest.mark.smoke
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_metadata_merges_into_one_row_lose_no_key(make_execution):
    row = make_execution()

    written = run_in_processes(
        merge_keys, [(row.task_id, worker, UPDATES) for worker in range(PROCESSES)]
    )

    assert written == [UPDATES] * PROCESSES
    metadata = TaskExecution.objects.get(pk=row.pk).metadata
    expected = {f"w{w}_{n}" for w in range(PROCESSES) for n in range(UPDATES)}
    assert expected - metadata.keys() == set(), "keys were lost"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_all_land(make_execution):
    row = make_execution()
    per_worker = 40

    run_in_processes(append_items, [(row.task_id, w, per_worker) for w in range(4)])

    events = TaskExecution.objects.get(pk=row.pk).metadata["events"]
    assert sorted(events) == sorted(f"{w}:{n}" for w in range(4) for n in range(per_worker))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_id_make_one_row():
    task_id = "race-registration"
    pks = run_in_processes(register_same_id, [(task_id, w) for w in range(PROCESSES)])
    assert len(set(pks)) == 1
    row = TaskExecution.objects.get(task_id=task_id)
    assert set(row.metadata) == {f"w{w}" for w in range(PROCESSES)}


@pytest.mark.django_db(transaction=True)
def test_threads_sharing_a_process_each_merge_safely(make_execution):
    row = make_execution()

    def work(worker: int) -> None:
        from django.db import connections

        try:
            for number in range(50):
                TaskTracker.update_progress(row.task_id, **{f"t{worker}_{number}": 1})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(TaskExecution.objects.get(pk=row.pk).metadata) == 200
