"""Held locks by name on both backends, forced releases, and the timeout job's clean-up."""

from __future__ import annotations

import psycopg
import pytest
from django.core.cache import caches
from django.db import connection
from django.test import override_settings

from agentcore_task.locks import acquire_task_lock, is_task_locked, release_task_lock
from agentcore_task.locks.advisory import AdvisoryLockBackend, advisory_lock_key
from agentcore_task.locks.cache import REGISTRY_KEY, CacheLockBackend
from agentcore_task.models import TaskAction
from agentcore_task.services.locks import (
    list_locks,
    release_lock,
    release_locks_of_finished_holders,
)
from agentcore_task.services.maintenance import mark_timed_out_executions
from agentcore_task.services.writes import update_task_status
from agentcore_task.status import TaskStatus
from tests.celery.conftest import database_url
from tests.lock_workers import fresh_lock_sessions, unique_name  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.django_db(transaction=True)  # the lock session must see the rows


def named(listing, name):
    return [lock for lock in listing["locks"] if lock["name"] == name]


def recorded_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM agentcore_task_lock_name")
        return {row[0] for row in cursor.fetchall()}


def test_an_advisory_lock_is_listed_by_name_and_not_after_its_release():
    name = unique_name("listed")
    assert acquire_task_lock(name, backend="advisory")

    (lock,) = named(list_locks("advisory"), name)
    assert lock["backend"] == "advisory" and lock["ttl"] is None and lock["pid"]
    assert lock["since"] is not None and lock["holder"] is None

    assert release_task_lock(name, backend="advisory")
    assert named(list_locks("advisory"), name) == []  # the record stays, but nobody holds it
    with connection.cursor() as cursor:  # once it is older than the grace period…
        cursor.execute(
            "UPDATE agentcore_task_lock_name SET since = now() - interval '1 minute'"
            " WHERE name = %s",
            [name],
        )
    list_locks("advisory")
    assert name not in recorded_names()  # …the listing deletes it


def test_an_advisory_lock_of_a_session_that_died_is_not_listed():
    name = unique_name("died")
    other = psycopg.connect(database_url(connection.settings_dict), autocommit=True)
    key = advisory_lock_key(name)
    other.execute("SELECT pg_advisory_lock(%s)", [key])
    other.execute(
        "INSERT INTO agentcore_task_lock_name (name, key, owner, since)"
        " VALUES (%s, %s, 'elsewhere', now() - interval '1 minute')",
        [name, key],
    )
    assert named(list_locks("advisory"), name)  # its session holds the key

    other.close()  # the holder dies: the server frees the lock, the record stays behind

    assert named(list_locks("advisory"), name) == []
    assert name not in recorded_names()  # the listing removed the stale record


def test_a_cache_lock_is_listed_with_its_holder_and_ttl_left():
    name = unique_name("cached")
    assert CacheLockBackend().acquire(name, 120, "someone", holder="task-1")

    (lock,) = named(list_locks("cache"), name)
    assert (lock["holder"], lock["owner"], lock["pid"]) == ("task-1", "someone", None)
    assert 110 < lock["ttl"] <= 120

    assert release_lock(name, backend="cache", reason="test")[0] == "cache"
    assert named(list_locks("cache"), name) == []
    assert not is_task_locked(name)


def test_an_expired_cache_lock_leaves_the_listing_and_the_registry():
    name = unique_name("expired")
    assert CacheLockBackend().acquire(name, 60, "someone")
    cache = caches["default"]
    client = cache._cache.get_client(write=True)
    client.delete(cache.make_key(f"agentcore_task:lock:{name}"))  # as the TTL would

    assert named(list_locks("cache"), name) == []
    assert cache.make_key(f"agentcore_task:lock:{name}").encode() not in client.hkeys(
        cache.make_key(REGISTRY_KEY)
    )


@override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
)
def test_a_cache_that_cannot_list_is_reported_not_raised():
    listing = list_locks()

    assert "RedisCache" in listing["unavailable"]["cache"]
    assert "advisory" not in listing["unavailable"]


def test_a_forced_release_is_audited_once_and_a_free_name_not_at_all():
    name = unique_name("forced")
    assert AdvisoryLockBackend().acquire(name, 1, "someone-else")

    assert release_lock(name, reason="stuck", source="command") is not None
    assert release_lock(name) is None

    (audit,) = TaskAction.objects.all()
    assert (audit.action, audit.source, audit.reason) == ("lock_release", "command", "stuck")
    assert audit.target == {"lock": name, "backend": "advisory"}


def test_the_timeout_job_frees_locks_whose_holder_finished(make_execution):
    finished, running = make_execution(), make_execution()
    update_task_status(finished.task_id, TaskStatus.FAILURE, error="worker lost")
    update_task_status(running.task_id, TaskStatus.STARTED)
    gone, alive = unique_name("gone"), unique_name("alive")
    assert CacheLockBackend().acquire(gone, 600, "dead-worker", holder=finished.task_id)
    assert CacheLockBackend().acquire(alive, 600, "live-worker", holder=running.task_id)

    result = mark_timed_out_executions(sync=False)

    assert result["locks_released"] == 1
    assert not is_task_locked(gone) and is_task_locked(alive)
    (audit,) = TaskAction.objects.filter(action="lock_release")
    assert audit.source == "system" and finished.task_id in audit.reason
    assert release_locks_of_finished_holders() == 0
    release_task_lock(alive, force=True)


def test_without_the_names_table_advisory_locks_still_work(caplog):
    from agentcore_task.locks.advisory import close_sessions

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE agentcore_task_lock_name RENAME TO agentcore_task_lock_gone")
    try:
        close_sessions()
        name = unique_name("no-table")
        assert acquire_task_lock(name, backend="advisory")
        assert is_task_locked(name, backend="advisory")
        assert release_task_lock(name, backend="advisory")
        assert not is_task_locked(name, backend="advisory")
        assert "cannot record advisory lock names" in caplog.text
        assert "advisory" in list_locks()["unavailable"]
    finally:
        close_sessions()
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE agentcore_task_lock_gone RENAME TO agentcore_task_lock_name"
            )


def test_names_can_be_left_unrecorded(settings):
    settings.AGENTCORE_TASK_ADVISORY_LOCK_NAMES = False
    name = unique_name("unrecorded")

    assert acquire_task_lock(name, backend="advisory")
    try:
        assert is_task_locked(name, backend="advisory")
        assert name not in recorded_names()
        assert named(list_locks("advisory"), name) == []
    finally:
        assert release_task_lock(name, backend="advisory")
