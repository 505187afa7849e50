"""Fixtures shared by every tier, and the choice of servers for the tiers that need them.

Factories create rows through the public services. The servers are resolved once the tests
are collected, and only if some collected test lives outside the tiers that run without
servers: ``pytest tests/unit`` starts and probes nothing.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentcore_task.models import TaskExecution
from agentcore_task.services.registration import register_task_execution

_counter = itertools.count()

TESTS = Path(__file__).resolve().parent
SERVERLESS_TIERS = frozenset({"unit", "packaging"})
"""Directories under tests/ whose tests use no PostgreSQL or Redis (and must not try)."""
DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_setup"})


def _tier(item: pytest.Item) -> str:
    try:
        return item.path.relative_to(TESTS).parts[0]
    except ValueError:
        return ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a serverless-tier test that asks for the database: it belongs in integration/."""
    for item in items:
        if _tier(item) not in SERVERLESS_TIERS:
            continue
        wants_db = item.get_closest_marker("django_db") is not None or bool(
            DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        )
        if wants_db:
            raise pytest.UsageError(
                f"{item.nodeid} uses the database: tests/{_tier(item)} runs without servers, "
                "move it to tests/integration"
            )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Resolve PostgreSQL and Redis (local, else embedded) if a collected test needs them.

    Here and not in the settings: pytest-django imports the settings before any test is
    collected, and only now is it known whether this run needs servers at all. It is still
    before pytest-django creates the test database (a session fixture of the first
    database test).
    """
    if session.config.option.collectonly:
        return
    if all(_tier(item) in SERVERLESS_TIERS for item in session.items):
        return
    from devservers import resolve_database_url, resolve_redis_url
    from tests.settings import use_servers

    use_servers(resolve_database_url("agentcore_task"), resolve_redis_url())


def new_task_id() -> str:
    """Return a task id unique across processes and runs, shaped like Celery's."""
    return str(uuid.uuid4())


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> Any:
    """pytest-django's test database, and the library's own connections closed before it is
    dropped (writes made inside a test's ``transaction.atomic()`` open one)."""
    yield
    from agentcore_task.transactions import close_all_own_connections

    close_all_own_connections()


@pytest.fixture
def make_execution(db: None) -> Callable[..., TaskExecution]:
    """Return a callable registering an execution with sensible defaults."""

    def make(**overrides: Any) -> TaskExecution:
        number = next(_counter)
        values: dict[str, Any] = {
            "task_id": new_task_id(),
            "task_name": f"tests.tasks.task_{number % 3}",
            "module": "tests",
        }
        values.update(overrides)
        row = register_task_execution(**values)
        assert row is not None, "registration failed; see the agentcore_task log"
        return row

    return make


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    """Return a callable creating a user with a unique name."""
    from django.contrib.auth import get_user_model

    def make(**overrides: Any) -> Any:
        values = {"username": f"user-{uuid.uuid4().hex[:12]}", "password": "pw"}
        values.update(overrides)
        return get_user_model().objects.create_user(**values)

    return make


@pytest.fixture
def alice(make_user: Callable[..., Any]) -> Any:
    """An ordinary user: with ``bob`` and ``staff``, the cast of the scoping tests."""
    return make_user(username="alice")


@pytest.fixture
def bob(make_user: Callable[..., Any]) -> Any:
    return make_user(username="bob")


@pytest.fixture
def staff(make_user: Callable[..., Any]) -> Any:
    return make_user(username="staff", is_staff=True)


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the task ids the Celery sync asks the (real) result backend about, in order."""
    from agentcore_task.services import celery_sync

    calls: list[str] = []
    read = celery_sync._read_backend

    def spy(task_id: str) -> Any:
        calls.append(task_id)
        return read(task_id)

    monkeypatch.setattr(celery_sync, "_read_backend", spy)
    return calls
