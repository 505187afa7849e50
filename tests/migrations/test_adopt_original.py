"""Upgrading in place from the original agentcore-task (docs/upgrading.md).

Each test builds a database as the original left it (its dump in original-database.sql), runs
our ``migrate`` in a child process, and reads the result from the catalog and the rows; then
our API and services are used on it. The fresh-database path is every other test's database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import quote, urlsplit

import pytest
from django.db import connection

from tests.migrations.original_db import (
    ROOT,
    build_original,
    drop_database,
    fetch,
    manage,
    new_database,
    run_sql,
)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROWS = (
    "SELECT id, task_id, task_name, module, status, created_at, started_at, finished_at,"
    " task_args, task_kwargs, result, error, traceback, metadata, created_by_id"
    " FROM agentcore_task_execution ORDER BY id"
)
# The original's 16 indexes besides its primary key and task_id's unique constraint.
ORIGINAL_INDEXES = 18
# A group given the original's permissions, and a user in it: their access must survive.
GROUP_SQL = """
INSERT INTO auth_group (name) VALUES ('auditors');
INSERT INTO auth_group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM auth_group g, auth_permission p JOIN django_content_type ct
    ON ct.id = p.content_type_id
WHERE g.name = 'auditors' AND ct.app_label = 'agentcore_task_tracker'
  AND p.codename IN ('view_taskexecution', 'change_taskexecution');
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                       is_staff, is_active, date_joined)
VALUES ('!', false, 'auditor', '', '', '', true, true, now());
INSERT INTO auth_user_groups (user_id, group_id)
SELECT u.id, g.id FROM auth_user u, auth_group g
WHERE u.username = 'auditor' AND g.name = 'auditors';
"""
# Two rows our rules refuse, written as the original could have written them.
BAD_ROWS_SQL = """
INSERT INTO agentcore_task_execution (id, task_id, task_name, module, status, created_at,
    started_at, finished_at, task_args, task_kwargs, metadata)
VALUES
 (7, 'bad-status', 'shop.tasks.x', 'shop', 'CANCELLED', now(), NULL, NULL, '[]', '{}', '{}'),
 (8, 'bad-times', 'shop.tasks.x', 'shop', 'SUCCESS', now(), now(), now() - interval '1 hour',
  '[]', '{}', '{}');
"""


def _base_url() -> str:
    settings = connection.settings_dict
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    user = quote(settings["USER"] or "postgres")
    if settings["PASSWORD"]:
        user += ":" + quote(settings["PASSWORD"])
    return f"postgresql://{user}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def original_database():
    """Return a function building an original's database (with extra SQL), dropped after."""
    made: list[str] = []

    def build(extra_sql: str = "") -> str:
        url = new_database(_base_url(), connection.settings_dict["NAME"])
        made.append(url)
        build_original(url, extra_sql)
        return url

    yield build
    for url in made:
        drop_database(url)


def _table_shape(url: str | None) -> dict[str, object]:
    """Columns, indexes, constraints, triggers, storage options and comments of our tables."""
    queries = {
        "columns": "SELECT table_name, column_name, data_type, character_maximum_length,"
        " is_nullable, column_default, is_identity FROM information_schema.columns"
        " WHERE table_name LIKE 'agentcore_task_%%' AND table_name <> 'agentcore_task_config'"
        " ORDER BY 1, 2",
        "indexes": "SELECT indexname, indexdef FROM pg_indexes"
        " WHERE tablename = 'agentcore_task_execution' ORDER BY 1",
        "constraints": "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = 'agentcore_task_execution'::regclass ORDER BY 1",
        "triggers": "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger"
        " WHERE tgrelid = 'agentcore_task_execution'::regclass AND NOT tgisinternal ORDER BY 1",
        "options": "SELECT reloptions FROM pg_class WHERE relname = 'agentcore_task_execution'",
        "comments": "SELECT c.relname, coalesce(a.attname, ''), d.description"
        " FROM pg_description d JOIN pg_class c ON c.oid = d.objoid"
        " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid"
        " WHERE d.classoid = 'pg_class'::regclass AND c.relname LIKE 'agentcore_task_%%'"
        " ORDER BY 1, 2",
        "sequence": "SELECT pg_get_serial_sequence('agentcore_task_execution', 'id')",
    }
    if url is None:
        with connection.cursor() as cursor:
            shape = {}
            for name, sql in queries.items():
                cursor.execute(sql)
                shape[name] = [tuple(row) for row in cursor.fetchall()]
            return shape
    return {
        name: [tuple(row) for row in fetch(url, sql.replace("%%", "%"))]
        for name, sql in queries.items()
    }


def test_migrate_adopts_the_original_database_keeping_every_row(original_database):
    url = original_database(GROUP_SQL)
    before = fetch(url, ROWS)
    (indexes,) = fetch(
        url, "SELECT count(*) FROM pg_indexes WHERE tablename = %s", ["agentcore_task_execution"]
    )
    assert indexes == (ORIGINAL_INDEXES,) and len(before) == 6

    manage(url, "migrate", "-v0")

    assert fetch(url, ROWS) == before  # ids, task ids, statuses, times, JSON, creators
    updated = fetch(
        url,
        "SELECT id, updated_at = greatest(created_at, started_at, finished_at)"
        " FROM agentcore_task_execution ORDER BY id",
    )
    assert all(same for _, same in updated), "updated_at is the row's last timestamp"
    # The same schema as a fresh database's (this test's own, built by the same migrations).
    assert _table_shape(url) == _table_shape(None)
    assert fetch(
        url, "SELECT app, name FROM django_migrations WHERE app = 'agentcore_task' ORDER BY name"
    )[0] == ("agentcore_task", "0001_initial")
    assert fetch(url, "SELECT count(*) FROM agentcore_task_config") == [(2,)], "left in place"
    assert fetch(
        url, "SELECT app_label FROM django_content_type WHERE model = 'taskexecution' ORDER BY 1"
    ) == [("agentcore_task",)]

    child = subprocess.run(
        [sys.executable, "-m", "tests.migrations.adopted_api"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout.splitlines()[-1])

    assert seen["list_ids"] == [6, 4, 2]  # alice's rows, newest first
    assert seen["list_metadata"][2] == {
        "tenant": 1,
        "progress_step": "prepare",
        "progress_percent": 10,
    }
    assert seen["list_without_metadata"] == [[True, None]] * 3
    detail = seen["detail"]
    assert (detail["task_id"], detail["status"], detail["created_by"]) == (
        "seed-task-1",
        "STARTED",
        1,
    )
    assert detail["task_kwargs"] == {"feed": 1, "password": "hunter2"}  # kept as stored
    assert detail["updated_at"] is not None
    assert seen["detail_fields"] == {"progress_step": "prepare"}
    assert (seen["by_task_id"], seen["status"], seen["unknown"]) == (4, "STARTED", 404)
    stats = seen["stats"]
    assert (stats["total"], stats["started"], stats["success"], stats["failure"]) == (3, 1, 1, 1)
    assert seen["group_keeps_access"] == [
        True,
        True,
        ["change_taskexecution", "view_taskexecution"],
    ]
    assert seen["new_row"] == [7, "SUCCESS", True, True]  # the identity continues after 6
    assert seen["seed_task_1"][0] == "SUCCESS"
    assert seen["seed_task_1"][1].startswith("2026-12-01T08:07:04.918569")  # the original's
    assert seen["late_started_keeps"] == "SUCCESS"
    assert seen["row_count"] == 7
    config = seen["config"]
    assert config["retention_days"] == [7, "database"]
    assert config["cleanup_crontab"] == ["0 3 * * *", "database"]
    assert config["timeout_minutes"][1] != "database"  # the original had no such row


# What the API tests expect to start from: no executions, users or overrides of their own;
# and the original's config table dropped as docs/upgrading.md says (its foreign key to
# auth_user would make the transactional tests' TRUNCATE of auth_user fail).
EMPTIED = """
DROP TABLE agentcore_task_config;
DELETE FROM agentcore_task_execution;
DELETE FROM agentcore_task_runtime_config;
DELETE FROM auth_user_groups;
DELETE FROM auth_group_permissions;
DELETE FROM auth_group;
DELETE FROM auth_user;
"""


def test_our_api_tests_pass_on_the_adopted_database(original_database):
    url = original_database(GROUP_SQL)
    manage(url, "migrate", "-v0")
    run_sql(url, EMPTIED)  # the adopted schema, sequences and history stay as migrate left them
    name = urlsplit(url).path.lstrip("/")

    suite = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/api",
            "-m",
            "not slow",
            "--reuse-db",
            "-q",
            "-p",
            "no:cacheprovider",
            "-x",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "AGENTCORE_TEST_DATABASE_NAME": name},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]
    assert " passed" in suite.stdout.splitlines()[-1]
    assert fetch(
        url, "SELECT count(*) FROM django_migrations WHERE app = 'agentcore_task_tracker'"
    ) == [(4,)]


def test_rows_breaking_our_rules_stop_migrate_naming_them_and_change_nothing(original_database):
    url = original_database(BAD_ROWS_SQL)
    rows = fetch(url, ROWS)
    indexes = fetch(
        url,
        "SELECT indexname, indexdef FROM pg_indexes"
        " WHERE tablename = 'agentcore_task_execution' ORDER BY 1",
    )

    result = manage(url, "migrate", "-v0", check=False)

    assert result.returncode != 0
    message = result.stderr
    assert "2 row(s) break its rules, and nothing was changed" in message
    assert "id 7 (task_id 'bad-status'): status 'CANCELLED' is not one of" in message
    assert "id 8 (task_id 'bad-times'): finished_at" in message
    assert "UPDATE agentcore_task_execution SET status = 'FAILURE' WHERE id IN (7)" in message
    assert "UPDATE agentcore_task_execution SET finished_at = started_at WHERE id IN (8)" in message
    assert fetch(url, ROWS) == rows
    assert (
        fetch(
            url,
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename = 'agentcore_task_execution' ORDER BY 1",
        )
        == indexes
    )
    assert fetch(url, "SELECT count(*) FROM django_migrations WHERE app = 'agentcore_task'") == [
        (0,)
    ]
    assert fetch(url, "SELECT to_regclass('agentcore_task_runtime_config')") == [(None,)]

    # Fixed as the message says, the same database then upgrades.
    with_fix = (
        "UPDATE agentcore_task_execution SET status = 'FAILURE' WHERE id IN (7);"
        "UPDATE agentcore_task_execution SET finished_at = started_at WHERE id IN (8)"
    )
    run_sql(url, with_fix)
    manage(url, "migrate", "-v0")
    assert fetch(url, "SELECT count(*) FROM agentcore_task_execution") == [(8,)]


def test_a_table_the_original_did_not_make_is_refused(original_database):
    url = original_database("DELETE FROM django_migrations WHERE app = 'agentcore_task_tracker'")

    result = manage(url, "migrate", "-v0", check=False)

    assert result.returncode != 0
    assert "already exists, but django_migrations has no agentcore_task_tracker" in result.stderr


@pytest.mark.django_db
def test_many_breaking_rows_are_counted_and_named_by_condition(make_execution):
    from django.db import connection as db

    from agentcore_task.schema.adoption import RowsBreakRules, refuse_rows_breaking_rules
    from tests.rows import execute_with_rules_lifted

    rows = [make_execution(initial_status="STARTED") for _ in range(25)]
    execute_with_rules_lifted(
        "UPDATE agentcore_task_execution SET status = 'SUCCESS',"
        " finished_at = started_at - interval '1 minute' WHERE id = ANY(%s)",
        [[row.pk for row in rows]],
    )

    with db.cursor() as cursor, pytest.raises(RowsBreakRules) as refused:
        refuse_rows_breaking_rules(cursor)

    message = str(refused.value)
    assert "25 row(s) break its rules" in message and "… and 5 more" in message
    assert f"id {rows[0].pk} (task_id '{rows[0].task_id}'): finished_at" in message
    assert "SET finished_at = started_at WHERE finished_at < started_at;" in message


def test_0005_reverses_and_applies_again_on_a_fresh_database():
    url = new_database(_base_url(), connection.settings_dict["NAME"])
    views = "SELECT count(*) FROM pg_views WHERE viewname LIKE 'agentcore_task_%%_v1'"
    comments = (
        "SELECT count(*) FROM pg_description d JOIN pg_class c ON c.oid = d.objoid"
        " WHERE c.relname = 'agentcore_task_execution' AND d.objsubid > 0"
    )
    options = "SELECT reloptions FROM pg_class WHERE relname = 'agentcore_task_execution'"
    try:
        manage(url, "migrate", "-v0")
        assert fetch(url, views) == [(4,)] and fetch(url, comments)[0][0] >= 17
        manage(url, "migrate", "agentcore_task", "0003", "-v0")
        assert fetch(url, views) == [(0,)] and fetch(url, options) == [(None,)]
        assert fetch(url, comments)[0][0] >= 17  # comments stay (ApplyComments' docstring)
        manage(url, "migrate", "-v0")
        assert fetch(url, views) == [(4,)] and fetch(url, comments)[0][0] >= 17
    finally:
        drop_database(url)


# Our content type and view permission already there (as a migrate run that included our app
# would leave them), and the group holding both the original's view permission and ours.
OURS_TOO_SQL = (
    GROUP_SQL
    + """
INSERT INTO django_content_type (app_label, model) VALUES ('agentcore_task', 'taskexecution');
INSERT INTO auth_permission (name, content_type_id, codename)
SELECT 'Can view task execution', id, 'view_taskexecution' FROM django_content_type
WHERE app_label = 'agentcore_task' AND model = 'taskexecution';
INSERT INTO auth_group_permissions (group_id, permission_id)
SELECT g.id, p.id FROM auth_group g, auth_permission p JOIN django_content_type ct
    ON ct.id = p.content_type_id
WHERE g.name = 'auditors' AND ct.app_label = 'agentcore_task'
  AND p.codename = 'view_taskexecution';
"""
)


def test_grants_merge_into_our_permissions_when_ours_already_exist(original_database):
    url = original_database(OURS_TOO_SQL)

    manage(url, "migrate", "-v0")

    types = "SELECT app_label FROM django_content_type WHERE model = 'taskexecution'"
    assert fetch(url, types) == [("agentcore_task",)]
    codenames = fetch(
        url,
        "SELECT p.codename FROM auth_permission p JOIN django_content_type ct"
        " ON ct.id = p.content_type_id WHERE ct.app_label = 'agentcore_task'"
        " AND ct.model = 'taskexecution' ORDER BY 1",
    )
    assert len(codenames) == len(set(codenames)), "no duplicate permissions"
    granted = fetch(
        url,
        "SELECT ct.app_label, p.codename FROM auth_group_permissions gp"
        " JOIN auth_permission p ON p.id = gp.permission_id"
        " JOIN django_content_type ct ON ct.id = p.content_type_id ORDER BY 2",
    )
    assert granted == [
        ("agentcore_task", "change_taskexecution"),
        ("agentcore_task", "view_taskexecution"),
    ]


# The original stopped after its 0001: its rows under 0001's table name, no config table.
ONLY_0001_SQL = """
ALTER TABLE agentcore_task_execution RENAME TO agentcore_task_tracker_taskexecution;
DROP TABLE agentcore_task_config;
DELETE FROM django_migrations WHERE app = 'agentcore_task_tracker' AND name <> '0001_initial';
"""


def test_an_original_stopped_before_its_rename_is_refused_not_shadowed(original_database):
    url = original_database(ONLY_0001_SQL)

    result = manage(url, "migrate", "-v0", check=False)

    assert result.returncode != 0
    assert "not 0002_rename_execution_table" in result.stderr
    assert "python manage.py migrate agentcore_task_tracker" in result.stderr
    assert fetch(url, "SELECT to_regclass('agentcore_task_execution')") == [(None,)]
    assert fetch(url, "SELECT count(*) FROM agentcore_task_tracker_taskexecution") == [(6,)]


@pytest.mark.parametrize(
    ("partial_sql", "carried"),
    [
        # 0001-0002: the table renamed, no agentcore_task_config yet.
        (
            "DROP TABLE agentcore_task_config; DELETE FROM django_migrations"
            " WHERE app = 'agentcore_task_tracker' AND name NOT IN"
            " ('0001_initial', '0002_rename_execution_table')",
            [],
        ),
        # 0003 without 0004 (which only renames the config table's indexes).
        (
            "DELETE FROM django_migrations WHERE app = 'agentcore_task_tracker'"
            " AND name LIKE '0004%%'",
            [(7, "0 3 * * *")],
        ),
    ],
    ids=["0001-0002", "0003-without-0004"],
)
def test_an_original_partly_migrated_after_its_rename_is_adopted(
    original_database, partial_sql, carried
):
    url = original_database(partial_sql.replace("%%", "%"))
    rows = fetch(url, ROWS)

    manage(url, "migrate", "-v0")

    assert [row[:5] for row in fetch(url, ROWS)] == [row[:5] for row in rows]
    config = "SELECT retention_days, cleanup_crontab FROM agentcore_task_runtime_config"
    assert fetch(url, config) == carried


# A row as the original could write it: arguments NULL (its columns allowed that, ours do not).
NULL_ARGUMENTS_SQL = """
INSERT INTO agentcore_task_execution (id, task_id, task_name, module, status, created_at,
    task_args, task_kwargs, metadata)
VALUES (7, 'null-args', 'shop.tasks.x', 'shop', 'PENDING', now(), NULL, NULL, '{}');
"""


def test_null_arguments_become_empty_json_and_a_second_migrate_changes_nothing(
    original_database,
):
    url = original_database(NULL_ARGUMENTS_SQL)

    manage(url, "migrate", "-v0")
    shape = _table_shape(url)
    again = manage(url, "migrate")

    arguments = "SELECT task_args, task_kwargs FROM agentcore_task_execution WHERE id = 7"
    assert fetch(url, arguments) == [([], {})]
    assert "No migrations to apply." in again.stdout
    assert _table_shape(url) == shape
