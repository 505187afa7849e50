"""An advisory lock whose session is lost is known to be lost by its holder.

After ``pg_terminate_backend`` of the lock session (what a forced release, a server restart,
``idle_session_timeout`` or a failover also do), the server frees the lock and another process
takes it. The first holder must then stop believing it holds the lock: ``lock_is_held`` says
False, another thread of its process can take it, and the decorator and the release say "lost"
rather than "database outage".
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from django.db import connection

from agentcore_task.locks import (
    acquire_task_lock,
    advisory_lock_ids,
    is_task_locked,
    lock_is_held,
    prevent_duplicate_task,
    release_task_lock,
)
from agentcore_task.locks.advisory import KEEPALIVE_DEFAULTS, _session
from tests.lock_workers import Holder, fresh_lock_sessions, unique_name  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def terminate_lock_session(lock_name: str) -> list[int]:
    """End the session holding ``lock_name`` from another connection, as a DBA would."""
    classid, objid = advisory_lock_ids(lock_name)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, pg_terminate_backend(pid, 5000) FROM pg_locks"
            " WHERE locktype = 'advisory' AND granted AND classid = %s::oid"
            " AND objid = %s::oid AND objsubid = 1",
            [classid, objid],
        )
        rows = cursor.fetchall()
    assert rows and all(done for _, done in rows), rows
    return [pid for pid, _ in rows]


def in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(function(*args, **kwargs)))
    thread.start()
    thread.join(30)
    return results[0]


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


def test_lock_is_held_means_held_by_me():
    name = unique_name()
    for backend in ("advisory", "cache"):
        assert not lock_is_held(name, backend=backend)
        assert acquire_task_lock(name, 60, backend=backend)
        assert lock_is_held(name, backend=backend)
        assert not in_thread(lock_is_held, name, backend=backend), "another thread is not the owner"
        assert release_task_lock(name, backend=backend)
        assert not lock_is_held(name, backend=backend)


def test_a_force_released_cache_lock_is_no_longer_held_by_me():
    name = unique_name()
    assert acquire_task_lock(name, 60, backend="cache")
    assert in_thread(lambda: release_task_lock(name, force=True, backend="cache"))
    assert not lock_is_held(name, backend="cache")


def test_after_the_session_is_terminated_the_holder_knows_and_another_process_runs(caplog):
    name = unique_name()
    assert acquire_task_lock(name, 60, backend="advisory")
    terminate_lock_session(name)

    holder = Holder("advisory", name, 60)  # a second run, in another process, takes it
    try:
        caplog.clear()
        assert not lock_is_held(name, backend="advisory"), "the first holder still believes"
        lost = messages(caplog, logging.WARNING)
        assert len(lost) == 1 and "lost its advisory lock session" in lost[0] and name in lost[0]
        assert is_task_locked(name, backend="advisory"), "held, by the other process"
        assert not acquire_task_lock(name, 60, backend="advisory"), "the other process holds it"
        caplog.clear()
        assert not release_task_lock(name, backend="advisory")
        assert messages(caplog, logging.ERROR) == []
    finally:
        holder.stop()


def test_a_release_on_a_lost_session_is_a_lost_lock_not_an_outage(caplog):
    name = unique_name()
    assert acquire_task_lock(name, 60, backend="advisory")
    terminate_lock_session(name)
    caplog.clear()

    assert release_task_lock(name, backend="advisory") is False
    assert messages(caplog, logging.ERROR) == []
    lost = messages(caplog, logging.WARNING)
    assert len(lost) == 1 and "lost its advisory lock session" in lost[0]
    assert acquire_task_lock(name, 60, backend="advisory"), "a new session takes it again"
    assert release_task_lock(name, backend="advisory")


def test_another_thread_of_the_process_may_take_a_lock_whose_session_was_lost():
    name = unique_name()
    assert acquire_task_lock(name, 60, backend="advisory")
    assert not in_thread(acquire_task_lock, name, 60, backend="advisory"), "held by this process"
    terminate_lock_session(name)

    assert in_thread(acquire_task_lock, name, 60, backend="advisory"), "the lost lock still blocked"
    assert not lock_is_held(name, backend="advisory")


def test_the_decorator_says_the_lock_was_lost_while_running(caplog):
    name = unique_name()
    seen: dict[str, Any] = {}

    @prevent_duplicate_task(name, backend="advisory")
    def nightly() -> str:
        assert lock_is_held(name, backend="advisory")
        terminate_lock_session(name)
        seen["holder"] = Holder("advisory", name, 60)  # the second run starts meanwhile
        seen["held"] = lock_is_held(name, backend="advisory")
        return "done"

    caplog.set_level(logging.WARNING, logger="agentcore_task")
    try:
        assert nightly() == "done"
    finally:
        if "holder" in seen:
            seen["holder"].stop()
    assert seen["held"] is False
    assert messages(caplog, logging.ERROR) == []
    warnings = messages(caplog, logging.WARNING)
    assert any("lock lost while running; another run may have started" in w for w in warnings)


def test_the_lock_session_uses_tcp_keepalives():
    name = unique_name()
    assert acquire_task_lock(name, 60, backend="advisory")
    session = _session()
    assert session._connection is not None
    parameters = session._connection.info.get_parameters()
    for option, value in KEEPALIVE_DEFAULTS.items():
        assert parameters.get(option) == str(value), option
    assert release_task_lock(name, backend="advisory")
