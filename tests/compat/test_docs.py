"""The docs cover every public name, setting and endpoint, and what they show really works."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from agentcore_task.public import PUBLIC_NAMES

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SETTING = re.compile(r"AGENTCORE_TASK_[A-Z0-9_]+")
SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.S)
LINK = re.compile(r"\]\(([^)#\s]+\.md)(#[^)]*)?\)")


def _docs_text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in sorted(DOCS.glob("*.md")))


def _settings_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for source in (ROOT / "agentcore_task").rglob("*.py"):
        names |= set(SETTING.findall(source.read_text(encoding="utf-8")))
    return names


def test_the_readme_links_the_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in ("installation", "usage", "settings", "api", "operations", "dba"):
        assert f"docs/{page}.md" in readme, page


def test_every_public_name_is_documented():
    text = _docs_text()
    missing = sorted(name for name in PUBLIC_NAMES if f"`{name}" not in text)
    assert not missing


def test_every_setting_has_a_heading_with_its_default():
    page = (DOCS / "settings.md").read_text(encoding="utf-8")
    sections = dict(
        re.findall(r"^### `(AGENTCORE_TASK_[A-Z0-9_]+)`\n(.*?)(?=^##|\Z)", page, re.M | re.S)
    )
    read = _settings_read_by_the_code()
    assert read, "no setting found in the code: the pattern is wrong"
    assert sorted(read - set(sections)) == []
    assert sorted(set(sections) - read) == [], "documented settings the code never reads"
    for name, body in sections.items():
        assert "Default:" in body, name


def test_every_endpoint_is_documented():
    reference = (DOCS / "api-reference.md").read_text(encoding="utf-8")
    guide = (DOCS / "api.md").read_text(encoding="utf-8")
    paths = re.findall(r"^### `(?:GET|POST|PUT|PATCH|DELETE) /api/v1/tasks/(\S*)`", reference, re.M)
    assert len(paths) >= 7
    for path in paths:
        assert f"`{path}" in guide or f"/{path}" in guide, path


def test_the_api_reference_is_generated_from_the_current_schema():
    checked = subprocess.run(
        [sys.executable, str(DOCS / "generate_api_reference.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr


def test_links_between_pages_resolve():
    for page in [*DOCS.glob("*.md"), ROOT / "README.md"]:
        for target, _anchor in LINK.findall(page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


@pytest.mark.django_db
def test_the_dba_example_sql_runs(make_execution):
    make_execution(metadata={"tenant": 42}, task_kwargs={"feed_id": 7})
    blocks = SQL_BLOCK.findall((DOCS / "dba.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    with connection.cursor() as cursor:
        for block in blocks:
            cursor.execute(block)


@pytest.mark.django_db
def test_the_gin_example_uses_the_gin_index(make_execution):
    make_execution(metadata={"tenant": 42})
    block = next(b for b in SQL_BLOCK.findall((DOCS / "dba.md").read_text()) if "tenant" in b)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + block.split("\n", 1)[1])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "agentcore_task_meta_gin" in plan
