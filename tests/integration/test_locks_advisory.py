"""Advisory lock keys: stable, and where a DBA finds them in pg_locks."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from agentcore_task.locks import (
    acquire_task_lock,
    advisory_lock_ids,
    advisory_lock_key,
    release_task_lock,
)
from agentcore_task.sql import queries
from tests.lock_workers import fresh_lock_sessions, unique_name  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.django_db  # the advisory backend locks in the test database

LOCKS_PACKAGE = Path(__file__).resolve().parents[2] / "agentcore_task" / "locks"


def names_of_both_signs() -> list[str]:
    """Return a lock name with a negative key and one with a positive key."""
    found: dict[bool, str] = {}
    for number in range(100):
        name = f"{unique_name('sign')}-{number}"
        found.setdefault(advisory_lock_key(name) < 0, name)
        if len(found) == 2:
            return list(found.values())
    raise AssertionError("no key of one of the signs in 100 names")


def granted_advisory_locks_of_our_sessions() -> set[tuple[int, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.classid::bigint, l.objid::bigint, l.objsubid::int"
            " FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()"
            " AND a.application_name = 'agentcore_task.locks'"
        )
        return set(cursor.fetchall())


def test_keys_are_stable_across_releases():
    # Changing the hash or its namespace would let old and new workers hold one lock twice.
    assert advisory_lock_key("agentcore_task") == 3326291088248302032
    assert advisory_lock_ids("agentcore_task") == (774462495, 244738512)
    assert advisory_lock_key("a") != advisory_lock_key("b")


@pytest.mark.smoke
def test_pg_locks_shows_the_lock_under_its_classid_objid_pair():
    names = names_of_both_signs()
    for name in names:
        assert acquire_task_lock(name, 60, backend="advisory")

    shown = granted_advisory_locks_of_our_sessions()
    for name in names:
        assert (*advisory_lock_ids(name), 1) in shown

    for name in names:
        assert release_task_lock(name, backend="advisory")
    assert not {(*advisory_lock_ids(name), 1) for name in names} & (
        granted_advisory_locks_of_our_sessions()
    )


def test_the_key_is_the_one_a_hand_written_pg_try_advisory_lock_contends_with():
    name = unique_name()
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as dba:
        assert acquire_task_lock(name, 60, backend="advisory")
        taken = dba.execute("SELECT pg_try_advisory_lock(%s)", [advisory_lock_key(name)])
        assert taken.fetchone() == (False,)
        assert release_task_lock(name, backend="advisory")
        taken = dba.execute("SELECT pg_try_advisory_lock(%s)", [advisory_lock_key(name)])
        assert taken.fetchone() == (True,)
        assert not acquire_task_lock(name, 60, backend="advisory"), "the DBA holds it now"


def test_every_lock_query_name_used_in_code_exists_in_sql():
    used = set()
    for path in LOCKS_PACKAGE.glob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r'\.(?:run|rows|note)\(\s*"([a-z_]+)"', text))
        for named, plain in re.findall(r'\.run_named\(\s*"([a-z_]+)",\s*"([a-z_]+)"', text):
            used |= {named, plain}
    assert used == {
        "advisory_try_lock",
        "advisory_try_lock_named",
        "advisory_unlock",
        "advisory_held_names",
        "advisory_forget_stale_names",
        "advisory_is_locked",
        "advisory_held_here",
        "advisory_terminate_holders",
    }
    assert used <= set(queries())


def test_the_pg_locks_lookup_finds_a_lock_taken_by_hand_with_small_ids():
    # Ids below 2**15 reach the query as smallints: the lookup must still match them.
    from agentcore_task.locks.advisory import _session

    key = (5 << 32) | 7
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as dba:
        dba.execute("SELECT pg_advisory_lock(%s)", [key])
        session = _session()
        with session.mutex:
            assert session.run("advisory_is_locked", {"classid": 5, "objid": 7}, retry=False)
            assert not session.run("advisory_is_locked", {"classid": 7, "objid": 5}, retry=False)
