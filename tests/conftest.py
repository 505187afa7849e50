"""Fixtures shared by every tier. Factories create rows through the public services."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from agentcore_task.models import TaskExecution
from agentcore_task.services.registration import register_task_execution

_counter = itertools.count()


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
