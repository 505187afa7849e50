"""Locks between real processes: races, owners in other processes, dead holders, fork."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import time

import pytest

from agentcore_task.locks import acquire_task_lock, is_task_locked, release_task_lock
from tests.lock_workers import (  # noqa: F401  (fresh_lock_sessions is an autouse fixture)
    Holder,
    acquire_elsewhere,
    fresh_lock_sessions,
    race,
    release_elsewhere,
    run_workers,
    unique_name,
)

pytestmark = pytest.mark.django_db  # the advisory backend locks in the test database

BACKENDS = ["cache", "advisory"]
RACERS = 12
ROUNDS = 5


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_twelve_processes_racing_for_one_lock_have_exactly_one_winner_each_round(backend):
    name = unique_name("race")
    with multiprocessing.get_context("spawn").Manager() as manager:
        barrier = manager.Barrier(RACERS)
        won = run_workers(race, [(backend, name, ROUNDS, barrier)] * RACERS)

    winners_per_round = [sum(worker[number] for worker in won) for number in range(ROUNDS)]
    assert winners_per_round == [1] * ROUNDS
    assert not is_task_locked(name, backend=backend)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_another_process_can_neither_take_nor_release_the_lock(backend):
    name = unique_name()
    assert acquire_task_lock(name, 60, backend=backend)

    [taken] = run_workers(acquire_elsewhere, [(backend, name)])
    [(released, still_locked)] = run_workers(release_elsewhere, [(backend, name, False)])

    assert (taken, released, still_locked) == (False, False, True)
    assert release_task_lock(name, backend=backend)
    [taken] = run_workers(acquire_elsewhere, [(backend, name)])
    assert taken, "free once its owner released it"


@pytest.mark.slow
def test_force_release_from_another_process_deletes_a_cache_lock():
    name = unique_name()
    assert acquire_task_lock(name, 60, backend="cache")

    [(released, still_locked)] = run_workers(release_elsewhere, [("cache", name, True)])

    assert (released, still_locked) == (True, False)
    assert not is_task_locked(name, backend="cache")
    assert not release_task_lock(name, backend="cache")


@pytest.mark.slow
def test_force_release_from_another_process_ends_the_advisory_holders_session(caplog):
    name, other = unique_name(), unique_name()
    assert acquire_task_lock(name, 60, backend="advisory")
    assert acquire_task_lock(other, 60, backend="advisory")

    [(released, still_locked)] = run_workers(release_elsewhere, [("advisory", name, True)])

    assert (released, still_locked) == (True, False)
    # Terminating our lock session freed everything it held; we find out on our next call.
    assert not is_task_locked(other, backend="advisory")
    lost = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lost) == 1 and "lost its advisory lock session" in lost[0]
    assert name in lost[0] and other in lost[0]
    assert not release_task_lock(name, backend="advisory")
    assert acquire_task_lock(name, 60, backend="advisory"), "the new session works"


@pytest.mark.slow
def test_an_advisory_lock_is_free_within_a_second_of_its_holder_being_killed():
    name = unique_name()
    holder = Holder("advisory", name, 60)
    try:
        assert is_task_locked(name, backend="advisory")
        assert not acquire_task_lock(name, 60, backend="advisory")

        holder.kill(signal.SIGKILL)
        killed_at = time.monotonic()
        while is_task_locked(name, backend="advisory") and time.monotonic() - killed_at < 5:
            time.sleep(0.01)
        freed_after = time.monotonic() - killed_at
    finally:
        holder.stop()

    assert freed_after < 1.0
    assert acquire_task_lock(name, 60, backend="advisory")


@pytest.mark.slow
def test_a_cache_lock_of_a_killed_holder_stays_until_its_ttl():
    name, ttl = unique_name(), 2
    holder = Holder("cache", name, ttl)
    try:
        holder.kill(signal.SIGKILL)
        assert time.time() < holder.acquired_at + ttl - 0.5, "the set-up took too long"
        assert is_task_locked(name, backend="cache")
        assert not acquire_task_lock(name, 60, backend="cache")
        time.sleep(max(0.0, holder.acquired_at + ttl + 0.3 - time.time()))
    finally:
        holder.stop()

    assert not is_task_locked(name, backend="cache")
    assert acquire_task_lock(name, 60, backend="cache")


@pytest.mark.slow
def test_a_forked_child_neither_shares_nor_frees_the_parents_advisory_locks():
    name = unique_name()
    assert acquire_task_lock(name, 60, backend="advisory")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, then end without running pytest's clean-up
        code = 1
        try:
            from agentcore_task.locks.advisory import close_sessions

            seen = {
                "locked": is_task_locked(name, backend="advisory"),
                "acquired": acquire_task_lock(name, 60, backend="advisory"),
                "released": release_task_lock(name, backend="advisory"),
            }
            close_sessions()  # must close only the child's own connection
            os.write(write_end, json.dumps(seen).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end) as pipe:
        seen = json.loads(pipe.read() or "{}")

    assert os.waitstatus_to_exitcode(status) == 0
    assert seen == {"locked": True, "acquired": False, "released": False}
    assert is_task_locked(name, backend="advisory")
    assert release_task_lock(name, backend="advisory"), "the parent's session is intact"
