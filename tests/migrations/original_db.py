"""Build a database that ran the original agentcore-task, from its dump.

The dump (``original-database.sql``, a copy of the shared seed's) is loaded as its header says:
Django's contenttypes and auth apps migrated first, then the file, here with psycopg (its
``COPY … FROM stdin`` blocks through ``cursor.copy``) so no ``psql`` binary is needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[2]
# A copy of the shared seed's original-database.sql, so the suite runs anywhere.
DUMP = Path(__file__).resolve().parent / "original-database.sql"


def statements(text: str) -> Iterator[tuple[str, str | None]]:
    """Yield ``(statement, copy_data)`` from a plain-format dump; data only for COPY."""
    lines = iter(text.splitlines())
    pending: list[str] = []
    for line in lines:
        if not pending and (not line.strip() or line.startswith("--")):
            continue
        pending.append(line)
        if not line.rstrip().endswith(";"):
            continue
        statement = "\n".join(pending)
        pending = []
        if statement.startswith("COPY ") and statement.rstrip().endswith("FROM stdin;"):
            data = []
            for row in lines:
                if row == "\\.":
                    break
                data.append(row + "\n")
            yield statement, "".join(data)
        else:
            yield statement, None


def load_dump(url: str, text: str) -> None:
    """Run every statement of ``text`` against ``url`` in one transaction."""
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        for statement, data in statements(text):
            if data is None:
                cursor.execute(statement)
            else:
                with cursor.copy(statement) as copy:
                    copy.write(data)


def libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def new_database(base_url: str, base_name: str) -> str:
    """Create an empty database named after ``base_name`` and return its URL."""
    name = f"{base_name.removeprefix('test_')}_original_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(with_database(base_url, "postgres")), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return with_database(base_url, name)


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(libpq(with_database(url, "postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``django-admin <args>`` with the test settings against the database at ``url``."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"django-admin {' '.join(args)} failed:\n{result.stderr}")
    return result


def build_original(url: str, extra_sql: str = "") -> None:
    """Make ``url`` a database that ran the original: auth + contenttypes, the dump, extras."""
    manage(url, "migrate", "contenttypes", "-v0")
    manage(url, "migrate", "auth", "-v0")
    load_dump(libpq(url), DUMP.read_text(encoding="utf-8"))
    if extra_sql:
        run_sql(url, extra_sql)


def run_sql(url: str, sql: str) -> None:
    """Run ``sql`` (one or more statements, no parameters) in one transaction."""
    with psycopg.connect(libpq(url)) as connection:
        connection.execute(sql)


def fetch(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq(url)) as connection:
        return connection.execute(sql, params).fetchall()
