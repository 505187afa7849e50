"""When the lock backend's server is down: logged False, and the decorator's fail policy."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from agentcore_task.locks import (
    acquire_task_lock,
    advisory_lock_ids,
    is_task_locked,
    prevent_duplicate_task,
    release_task_lock,
)
from devservers import EmbeddedRedis
from tests.lock_workers import (  # noqa: F401  (fresh_lock_sessions is an autouse fixture)
    REPO_ROOT,
    closed_port,
    fresh_lock_sessions,
    unique_name,
)

pytestmark = pytest.mark.django_db  # the advisory backend locks in the test database


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own, as the lock cache ``locks``, which the test may stop."""
    server = EmbeddedRedis()
    server.start()
    caches = {
        **settings.CACHES,
        "locks": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": "agentcore-task-lock-tests",
        },
    }
    try:
        with override_settings(CACHES=caches, AGENTCORE_TASK_LOCK_CACHE="locks"):
            yield server
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.smoke
def test_redis_down_makes_every_call_log_one_error_and_return_false(own_redis, caplog):
    name = unique_name()
    assert acquire_task_lock(name, 60, backend="cache")
    own_redis.stop()
    caplog.set_level(logging.ERROR, logger="agentcore_task")

    for call in (
        lambda: acquire_task_lock(unique_name(), 60, backend="cache"),
        lambda: is_task_locked(name, backend="cache"),
        lambda: release_task_lock(name, backend="cache"),
        lambda: release_task_lock(name, force=True, backend="cache"),
    ):
        caplog.clear()
        assert call() is False
        errors = records(caplog, logging.ERROR)
        assert len(errors) == 1 and "ConnectionError" in errors[0] and "'locks'" in errors[0]

    with pytest.raises(ValueError):
        acquire_task_lock(name, 0, backend="cache")  # a caller's mistake is still one


@pytest.mark.slow
def test_redis_down_skips_the_decorated_call_by_default(own_redis, caplog):
    runs = []

    @prevent_duplicate_task(unique_name(), backend="cache")
    def nightly() -> str:
        runs.append(1)
        return "done"

    own_redis.stop()
    result = nightly()

    assert runs == []
    assert result["reason"] == "lock_unavailable"  # type: ignore[index]
    assert result["success"] is False and result["status"] == "skipped"  # type: ignore[index]
    assert "AGENTCORE_TASK_LOCK_FAIL_OPEN" in result["error"]  # type: ignore[index]
    assert len(records(caplog, logging.ERROR)) == 1


@pytest.mark.slow
def test_redis_down_runs_the_decorated_call_when_failing_open(own_redis, caplog):
    @prevent_duplicate_task(unique_name(), backend="cache")
    def nightly() -> str:
        return "done"

    own_redis.stop()
    with override_settings(AGENTCORE_TASK_LOCK_FAIL_OPEN=True):
        assert nightly() == "done"

    warnings = records(caplog, logging.WARNING)
    assert len(warnings) == 1 and "without its lock" in warnings[0]
    assert records(caplog, logging.ERROR) == []


@pytest.mark.slow
def test_redis_lost_during_the_run_keeps_the_result_and_logs_the_failed_release(own_redis, caplog):
    @prevent_duplicate_task(unique_name(), backend="cache")
    def nightly() -> str:
        own_redis.stop()
        return "done"

    assert nightly() == "done"
    errors = records(caplog, logging.ERROR)
    assert len(errors) == 1 and "could not release" in errors[0]


UNREACHABLE_LOCK_DATABASE = """
import json, logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(message)s")
from django.conf import settings
settings.DATABASES["locks"] = {**settings.DATABASES["default"], "PORT": sys.argv[1]}
settings.AGENTCORE_TASK_LOCK_BACKEND = "advisory"
settings.AGENTCORE_TASK_LOCK_DATABASE = "locks"
import django
django.setup()
from agentcore_task import (
    acquire_task_lock, is_task_locked, prevent_duplicate_task, release_task_lock,
)

@prevent_duplicate_task("dead-db-task")
def nightly():
    return "ran"

seen = {
    "acquire": acquire_task_lock("dead-db"),
    "locked": is_task_locked("dead-db"),
    "release": release_task_lock("dead-db"),
    "skipped": nightly(),
}
settings.AGENTCORE_TASK_LOCK_FAIL_OPEN = True
seen["fail_open"] = nightly()
print(json.dumps(seen))
"""


def test_an_unreachable_lock_database_fails_closed_or_open_as_configured():
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings")
    result = subprocess.run(
        [sys.executable, "-c", UNREACHABLE_LOCK_DATABASE, str(closed_port())],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert (seen["acquire"], seen["locked"], seen["release"]) == (False, False, False)
    assert seen["skipped"]["reason"] == "lock_unavailable"
    assert seen["fail_open"] == "ran"
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("ERROR")]
    warnings = [line for line in lines if line.startswith("WARNING")]
    # acquire, is_task_locked and the skipped call; the release needs no server: this process
    # knows it holds nothing.
    assert len(errors) == 3, result.stderr
    assert all("'locks'" in line and "OperationalError" in line for line in errors)
    assert len(warnings) == 1 and "without its lock" in warnings[0]


def test_a_lost_lock_session_is_replaced_on_the_next_call_and_its_locks_reported(caplog):
    name = unique_name()
    assert acquire_task_lock(name, 60, backend="advisory")
    classid, objid = advisory_lock_ids(name)
    with connection.cursor() as cursor:  # as a server restart or a DBA would
        cursor.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks WHERE locktype = 'advisory'"
            " AND classid = %s::oid AND objid = %s::oid AND objsubid = 1",
            [classid, objid],
        )
        assert cursor.fetchone() == (True,)

    other = unique_name()
    assert acquire_task_lock(other, 60, backend="advisory"), "a new session took it"
    warnings = records(caplog, logging.WARNING)
    assert len(warnings) == 1 and name in warnings[0]
    assert not is_task_locked(name, backend="advisory")
    assert not release_task_lock(name, backend="advisory"), "that lock was lost"
    assert release_task_lock(other, backend="advisory")
