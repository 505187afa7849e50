"""Helpers for the lock tests: worker functions for spawned processes and a lock holder.

Workers run in processes started with multiprocessing ``spawn`` (see ``tests/processes.py``
for how they set Django up against the parent's test database). ``python -m
tests.lock_workers hold <backend> <name> <ttl> <database>`` is a process that takes a lock,
says so on stdout and sleeps until it is killed.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.processes import _child, _setup_child

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKER_TIMEOUT = 180.0


def closed_port() -> int:
    """Return a port on which nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def unique_name(prefix: str = "test-lock") -> str:
    """Return a lock name no other test run (in parallel, on the same servers) uses."""
    return f"{prefix}:{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def fresh_lock_sessions() -> Iterator[None]:
    """Close the advisory lock connections after each test.

    No test then inherits another's session, and none is left open on the test database
    when pytest-django drops it.
    """
    yield
    from agentcore_task.locks.advisory import close_sessions

    close_sessions()


def run_workers(
    function: Callable[..., Any], argument_sets: Iterable[tuple[Any, ...]]
) -> list[Any]:
    """Call ``function(*args)`` in one spawned process per argument set, all at once.

    Like ``tests.processes.run_in_processes``, with a deadline so a broken barrier fails the
    test instead of hanging it.
    """
    from django.db import connection

    payloads = [(function, tuple(args)) for args in argument_sets]
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(payloads), _setup_child, (connection.settings_dict["NAME"],)) as pool:
        return pool.map_async(_child, payloads, chunksize=1).get(WORKER_TIMEOUT)


def race(backend: str, lock_name: str, rounds: int, barrier: Any) -> list[bool]:
    """Race the other workers for ``lock_name`` ``rounds`` times; return which rounds we won.

    Every worker tries once per round. The barriers make the winner hold the lock until all
    have tried, and release it before the next round starts.
    """
    from agentcore_task.locks import acquire_task_lock, release_task_lock

    won = []
    for _ in range(rounds):
        barrier.wait(60)
        taken = acquire_task_lock(lock_name, 60, backend=backend)
        barrier.wait(60)
        if taken and not release_task_lock(lock_name, backend=backend):
            raise AssertionError("the winner could not release its own lock")
        barrier.wait(60)
        won.append(taken)
    return won


def release_elsewhere(backend: str, lock_name: str, force: bool) -> tuple[bool, bool]:
    """Try to release a lock this process does not hold; return (released, still locked)."""
    from agentcore_task.locks import is_task_locked, release_task_lock

    released = release_task_lock(lock_name, force=force, backend=backend)
    return released, is_task_locked(lock_name, backend=backend)


def acquire_elsewhere(backend: str, lock_name: str) -> bool:
    """Try to take a lock from another process."""
    from agentcore_task.locks import acquire_task_lock

    return acquire_task_lock(lock_name, 60, backend=backend)


class Holder:
    """A separate Python process holding one lock until it is killed."""

    def __init__(self, backend: str, lock_name: str, ttl: int) -> None:
        from django.db import connection

        argv = [sys.executable, "-m", "tests.lock_workers", "hold", backend, lock_name, str(ttl)]
        argv.append(connection.settings_dict["NAME"])
        self.process = subprocess.Popen(
            argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        ready, _, _ = select.select([self.process.stdout], [], [], 60)
        line = self.process.stdout.readline() if ready and self.process.stdout else ""
        if not line.startswith("held "):
            self.process.kill()
            _, errors = self.process.communicate(timeout=30)
            raise AssertionError(f"the holder did not get the lock: {line!r}\n{errors}")
        self.acquired_at = float(line.split()[1])

    def kill(self, signal_number: int) -> None:
        """Send ``signal_number`` and wait until the process is gone."""
        os.kill(self.process.pid, signal_number)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Kill the process if it still runs (test clean-up)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=30)


def _hold(backend: str, lock_name: str, ttl: int, database_name: str) -> None:
    _setup_child(database_name)
    from agentcore_task.locks import acquire_task_lock

    if not acquire_task_lock(lock_name, ttl, backend=backend):
        print("busy", flush=True)
        return
    print(f"held {time.time()}", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    if sys.argv[1] == "hold":
        _hold(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
