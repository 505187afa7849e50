"""Migration and SQL hygiene: the schema is what the code and the docs say it is."""

from __future__ import annotations

import ast
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from agentcore_task.sql import parse_queries, queries, sql_directory

ROOT = Path(__file__).resolve().parents[2]

# Every index on the table, and the query it serves (models.py has the same comments).
DOCUMENTED_INDEXES = {
    "agentcore_task_execution_pkey",  # by id
    "agentcore_task_task_id_key",  # by task id; the upsert's conflict target
    "agentcore_task_by_user",  # my tasks, newest first
    "agentcore_task_by_module",  # module filter, newest first
    "agentcore_task_by_name",  # task name filter, newest first
    "agentcore_task_created",  # date ranges, unfiltered newest first, cleanup by age
    "agentcore_task_updated",  # the live hub's poll of changed rows (updated_at > last seen)
    "agentcore_task_unfinished",  # periodic jobs (partial: unfinished rows only)
    "agentcore_task_user_unfinished",  # one user's unfinished rows (partial)
    "agentcore_task_retry_of",  # the retries of a row (partial: retries only)
    "agentcore_task_meta_gin",  # metadata @> …
    "agentcore_task_kwargs_gin",  # task_kwargs @> …
    "agentcore_task_args_gin",  # task_args @> …
    "agentcore_task_result_gin",  # result @> …
}

pytestmark = pytest.mark.django_db


def test_makemigrations_finds_nothing_to_do():
    out = StringIO()
    call_command("makemigrations", "agentcore_task", "--check", "--dry-run", stdout=out)


def test_the_table_has_exactly_the_documented_indexes():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'agentcore_task_execution'"
        )
        names = {row[0] for row in cursor.fetchall()}
    assert names == DOCUMENTED_INDEXES


def test_jsonb_columns_and_status_check_exist():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_name = 'agentcore_task_execution'"
        )
        types = dict(cursor.fetchall())
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conname = 'agentcore_task_status_valid'"
        )
        (check,) = cursor.fetchone()
    for column in ("task_args", "task_kwargs", "result", "metadata"):
        assert types[column] == "jsonb"
    assert all(status in check for status in ("PENDING", "SUCCESS", "REVOKED"))


# Every way the package hands a statement name to the SQL layer: db.py's entry points and
# sql.query, the writes' helper (the name before its params), the advisory locks' runner.
SQL_CALLS = (
    re.compile(
        r'(?:fetch_execution|fetch_rows_of_queryset|fetch_rows|fetch_row|query)\(\s*"([a-z_]+)"'
    ),
    re.compile(r'_write\([^\n]*?,\s*"([a-z_]+)",\s*params'),
    re.compile(r'\.(?:run|rows|note|run_named)\(\s*"([a-z_]+)"'),
    re.compile(r'\.run_named\(\s*"[a-z_]+",\s*"([a-z_]+)"'),
)


def _package_sources() -> list[str]:
    return [path.read_text() for path in (ROOT / "agentcore_task").rglob("*.py")]


def test_every_query_name_used_in_code_exists_in_sql():
    used = set()
    for text in _package_sources():
        for pattern in SQL_CALLS:
            used |= set(pattern.findall(text))
    assert len(used) >= 15, f"the scan found only {sorted(used)}: the pattern is stale"
    assert used <= set(queries()), used - set(queries())


def test_every_statement_in_sql_is_used_by_the_code():
    literals: set[str] = set()
    for text in _package_sources():
        # Either quote (migrations use Django's '…'); names may end in a version (…_v1).
        literals |= set(re.findall(r"""["']([a-z_][a-z0-9_]*)["']""", text))
    assert sorted(set(queries()) - literals) == [], "statements no code names"


def test_sql_files_parse_and_every_query_has_a_description():
    for path in sql_directory().glob("*.sql"):
        text = path.read_text()
        for name in parse_queries(text, path.name):
            header = re.search(rf"-- name: {name}\n(--.*\n)+", text)
            assert header, f"{path.name}: {name} has no description comment"


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 1;\n-- name: a\nSELECT 2",
        "-- name: a\nSELECT 1;\n-- name: a\nSELECT 2",
        "-- name: a\n-- only a comment\n",
    ],
)
def test_malformed_sql_files_are_refused(text):
    with pytest.raises(ValueError):
        parse_queries(text)


# A statement that reads or writes rows (as opposed to DDL, whose identifiers may need quoting).
ROW_STATEMENT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b")


def _static_text(node: ast.expr, constants: dict[str, str]) -> str | None:
    """The text a statement argument starts with: a literal, an f-string, or a module constant."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        return first.value if isinstance(first, ast.Constant) else None
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


@pytest.mark.parametrize(
    "path", sorted((ROOT / "agentcore_task" / "schema").glob("*.py")), ids=lambda p: p.name
)
def test_schema_operations_read_their_statements_from_sql_files(path):
    """Rule "SQL in sql/": every SELECT/INSERT/UPDATE/DELETE the migrations' operations run."""
    tree = ast.parse(path.read_text())
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }
    inline = [
        f"line {call.lineno}: {text.strip()[:50]}"
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "execute"
        and call.args
        and (text := _static_text(call.args[0], constants)) is not None
        and ROW_STATEMENT.match(text)
    ]
    assert inline == [], f"{path.name} runs SQL written in Python; move it to sql/*.sql"
