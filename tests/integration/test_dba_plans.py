"""Every example query of docs/dba.md, and every DBA view, on 200,000 generated rows: it runs,
and PostgreSQL's plan uses the index the docs name (``-- index: <name>`` in each block).

The rows come from bench/dataset.py (90 days, weighted statuses, 20 modules, 200 task names),
loaded once for the module outside the tests' transactions, analysed, and deleted afterwards.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.db import connection

from bench.dataset import ensure_rows

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]
ROWS = 200_000
SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.S)
INDEX_LINE = re.compile(r"^-- index: (\S+(?: or \S+)*)$", re.M)
VIEWS = (
    "agentcore_task_running_v1",
    "agentcore_task_recent_failures_v1",
    "agentcore_task_daily_counts_v1",
    "agentcore_task_stuck_v1",
)


@pytest.fixture(scope="module", autouse=True)
def generated_rows(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        ensure_rows(ROWS)
        yield
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM agentcore_task_execution WHERE task_id LIKE 'bench-%%'")
            cursor.execute("DELETE FROM auth_user WHERE username LIKE 'bench-user-%%'")


def _blocks() -> list[str]:
    return SQL_BLOCK.findall((ROOT / "docs" / "dba.md").read_text(encoding="utf-8"))


def _indexes_in_plan(sql: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        (plan,) = cursor.fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found: set[str] = set()

    def walk(node: dict) -> None:
        if "Index Name" in node:
            found.add(node["Index Name"])
        for child in node.get("Plans", ()):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def _documented_examples() -> list[tuple[str, str]]:
    examples = []
    for block in _blocks():
        named = INDEX_LINE.findall(block)
        assert len(named) == 1, f"docs/dba.md block names no '-- index:' line:\n{block}"
        examples.append((named[0], block))
    return examples


def test_every_documented_query_names_its_index_and_the_views_are_queried():
    examples = _documented_examples()
    assert len(examples) >= 10
    for view in VIEWS:
        assert any(view in block for _, block in examples), f"docs/dba.md shows no query of {view}"


@pytest.mark.parametrize("number", range(len(_blocks())))
def test_the_documented_query_runs_and_uses_its_index(number):
    index, block = _documented_examples()[number]
    # "a or b": two partial indexes hold the same rows (the unfinished ones), and PostgreSQL
    # scans whichever is smaller for a query both serve.
    allowed = set(index.split(" or "))
    with connection.cursor() as cursor:
        cursor.execute(block)
        cursor.fetchall()
    used = _indexes_in_plan(block)
    if index == "none":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'agentcore_task_execution'"
            )
            ours = {row[0] for row in cursor.fetchall()}
        assert not used & ours, f"the docs say no index, the plan uses {used}:\n{block}"
    else:
        assert allowed & used, f"expected {index}, the plan uses {used or 'no index'}:\n{block}"


@pytest.mark.parametrize("view", VIEWS)
def test_each_view_returns_rows_and_has_a_comment(view):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {view}")
        (count,) = cursor.fetchone()
        cursor.execute("SELECT obj_description(%s::regclass, 'pg_class')", [view])
        (comment,) = cursor.fetchone()
    assert count > 0
    assert comment and comment.startswith("agentcore-task:")
