"""The lock functions, in one process: owner-only release, force, TTLs, arguments, checks."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from agentcore_task.locks import acquire_task_lock, is_task_locked, release_task_lock
from agentcore_task.locks.cache import cache_key
from tests.lock_workers import fresh_lock_sessions, unique_name  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.django_db  # the advisory backend locks in the test database

BACKENDS = ["cache", "advisory"]
LOCMEM_CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "l"}
}


def in_thread(function: Callable[[], Any]) -> Any:
    """Run ``function`` in another thread (another lock owner) and return its result."""
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(function()))
    thread.start()
    thread.join(30)
    assert results, "the thread did not finish"
    return results[0]


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


@pytest.mark.smoke
@pytest.mark.parametrize("backend", BACKENDS)
def test_acquire_is_exclusive_and_is_task_locked_follows_every_state(backend):
    name = unique_name()
    assert not is_task_locked(name, backend=backend)

    assert acquire_task_lock(name, 60, backend=backend)
    assert is_task_locked(name, backend=backend)
    assert not in_thread(lambda: acquire_task_lock(name, 60, backend=backend))

    assert release_task_lock(name, backend=backend)
    assert not is_task_locked(name, backend=backend)
    assert not release_task_lock(name, backend=backend), "a free lock cannot be released"
    assert in_thread(lambda: acquire_task_lock(name, 60, backend=backend)), "free again"


@pytest.mark.parametrize("backend", BACKENDS)
def test_locks_are_not_reentrant(backend):
    name = unique_name()
    assert acquire_task_lock(name, 60, backend=backend)
    assert not acquire_task_lock(name, 60, backend=backend)
    assert release_task_lock(name, backend=backend)
    assert not is_task_locked(name, backend=backend), "one release frees it: it was taken once"


@pytest.mark.parametrize("backend", BACKENDS)
def test_distinct_names_do_not_block_each_other(backend):
    first, second = unique_name(), unique_name()
    assert acquire_task_lock(first, 60, backend=backend)
    assert acquire_task_lock(second, 60, backend=backend)
    assert release_task_lock(first, backend=backend)
    assert is_task_locked(second, backend=backend)
    assert release_task_lock(second, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_another_thread_cannot_release_the_lock(backend, caplog):
    name = unique_name()
    assert acquire_task_lock(name, 60, backend=backend)

    assert in_thread(lambda: release_task_lock(name, backend=backend)) is False
    assert is_task_locked(name, backend=backend)
    assert messages(caplog, logging.WARNING) == []
    assert release_task_lock(name, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_force_release_from_another_thread_frees_the_lock_and_warns(backend, caplog):
    name = unique_name()
    assert acquire_task_lock(name, 60, backend=backend)

    assert in_thread(lambda: release_task_lock(name, force=True, backend=backend)) is True
    assert not is_task_locked(name, backend=backend)
    warnings = messages(caplog, logging.WARNING)
    assert len(warnings) == 1 and "force-released" in warnings[0] and name in warnings[0]
    assert not release_task_lock(name, backend=backend), "the owner's lock is gone"
    assert in_thread(lambda: acquire_task_lock(name, 60, backend=backend))


@pytest.mark.parametrize("backend", BACKENDS)
def test_force_release_by_the_owner_or_of_a_free_lock_forces_nothing(backend, caplog):
    name = unique_name()
    assert not release_task_lock(name, force=True, backend=backend)
    assert acquire_task_lock(name, 60, backend=backend)
    assert release_task_lock(name, force=True, backend=backend)
    assert not is_task_locked(name, backend=backend)
    assert messages(caplog, logging.WARNING) == []


def test_cache_lock_expires_at_its_timeout():
    name = unique_name()
    assert acquire_task_lock(name, 1, backend="cache")
    time.sleep(0.5)
    assert is_task_locked(name, backend="cache")
    time.sleep(0.7)
    assert not is_task_locked(name, backend="cache")
    assert in_thread(lambda: acquire_task_lock(name, 60, backend="cache"))


def test_advisory_lock_ignores_the_timeout():
    name = unique_name()
    assert acquire_task_lock(name, 1, backend="advisory")
    time.sleep(1.3)
    assert is_task_locked(name, backend="advisory")
    assert release_task_lock(name, backend="advisory")


@pytest.mark.parametrize("name", ["x" * 400, "with spaces\tand\ncontrol", "ünïcødé", "\ud800"])
def test_any_name_works_and_unusual_ones_are_hashed_into_the_cache_key(name):
    key = cache_key(name)
    assert key.startswith("agentcore_task:lock:sha256:") and len(key) == 91
    for backend in BACKENDS:
        assert acquire_task_lock(name, 60, backend=backend)
        assert is_task_locked(name, backend=backend)
        assert release_task_lock(name, backend=backend)


def test_plain_names_stay_readable_in_the_cache_key():
    assert cache_key("import:feed_id=7") == "agentcore_task:lock:import:feed_id=7"


def test_a_plain_name_never_lands_in_the_hashed_keys_namespace():
    hashed_name = "x" * 400
    forged = cache_key(hashed_name).removeprefix("agentcore_task:lock:")
    assert forged.startswith("sha256:")
    assert cache_key(forged) != cache_key(hashed_name), "the plain name took the hashed key"
    assert cache_key(forged).startswith("agentcore_task:lock:sha256:")
    assert acquire_task_lock(hashed_name, 60, backend="cache")
    try:
        assert acquire_task_lock(forged, 60, backend="cache"), "blocked by another name's lock"
        assert release_task_lock(forged, backend="cache")
    finally:
        assert release_task_lock(hashed_name, backend="cache")


@override_settings(CACHES=LOCMEM_CACHES)
def test_other_caches_use_add_and_an_owner_checked_delete():
    name = unique_name()
    assert acquire_task_lock(name, 60, backend="cache")
    assert not in_thread(lambda: acquire_task_lock(name, 60, backend="cache"))
    assert in_thread(lambda: release_task_lock(name, backend="cache")) is False
    assert is_task_locked(name, backend="cache")
    assert release_task_lock(name, backend="cache")
    assert not is_task_locked(name, backend="cache")
    assert acquire_task_lock(name, 1, backend="cache")
    assert in_thread(lambda: release_task_lock(name, force=True, backend="cache"))
    assert not is_task_locked(name, backend="cache")


def test_the_setting_picks_the_backend():
    name = unique_name()
    with override_settings(AGENTCORE_TASK_LOCK_BACKEND="advisory"):
        assert acquire_task_lock(name)
        assert is_task_locked(name)
    assert is_task_locked(name, backend="advisory")
    assert not is_task_locked(name), "the default backend is the cache, where it is free"
    assert release_task_lock(name, backend="advisory")


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: acquire_task_lock(""), ValueError),
        (lambda: acquire_task_lock(None), TypeError),
        (lambda: acquire_task_lock("n", 0), ValueError),
        (lambda: acquire_task_lock("n", -5), ValueError),
        (lambda: acquire_task_lock("n", "60"), TypeError),
        (lambda: acquire_task_lock("n", True), TypeError),
        (lambda: acquire_task_lock("n", 1.5), TypeError),
        (lambda: acquire_task_lock("n", backend="redis"), ValueError),
        (lambda: release_task_lock(""), ValueError),
        (lambda: release_task_lock("n", backend="redis"), ValueError),
        (lambda: is_task_locked(b"n"), TypeError),
        (lambda: is_task_locked("n", backend=""), ValueError),
    ],
)
def test_bad_arguments_raise(call, error):
    with pytest.raises(error):
        call()


def lock_check_ids() -> list[str]:
    ids = {
        "agentcore_task.W001",
        "agentcore_task.E003",
        "agentcore_task.E004",
        "agentcore_task.E005",
    }
    return [message.id for message in run_checks() if message.id in ids]


@pytest.mark.smoke  # the system checks differ between Django versions
def test_system_check_warns_about_a_cache_that_cannot_lock_across_processes():
    with override_settings(CACHES=LOCMEM_CACHES):
        assert lock_check_ids() == ["agentcore_task.W001"]
        with override_settings(AGENTCORE_TASK_LOCK_BACKEND="advisory"):
            assert lock_check_ids() == []
    assert lock_check_ids() == [], "Redis can lock across processes"


@pytest.mark.smoke  # the system checks differ between Django versions
def test_system_check_refuses_lock_settings_that_name_nothing():
    with override_settings(AGENTCORE_TASK_LOCK_BACKEND="zookeeper"):
        assert lock_check_ids() == ["agentcore_task.E003"]
    with override_settings(AGENTCORE_TASK_LOCK_CACHE="nowhere"):
        assert lock_check_ids() == ["agentcore_task.E005"]
    with override_settings(
        AGENTCORE_TASK_LOCK_BACKEND="advisory", AGENTCORE_TASK_LOCK_DATABASE="nowhere"
    ):
        assert lock_check_ids() == ["agentcore_task.E004"]
