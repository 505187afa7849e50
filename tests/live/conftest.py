"""Fixtures of the live tests: a uvicorn server on the test database, users and clients."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.celery.conftest import database_url
from tests.live.server import Server, uvicorn_server

PASSWORD = "pw-live"


@pytest.fixture(scope="session")
def asgi_server(django_db_setup: None) -> Iterator[Server]:
    """One uvicorn process serving the test project, for the whole session."""
    from django.db import connection

    with uvicorn_server(database_url(connection.settings_dict)) as server:
        yield server


@pytest.fixture
def user_with_password(make_user: Callable[..., Any]) -> Callable[..., Any]:
    def make(**overrides: Any) -> Any:
        return make_user(password=PASSWORD, **overrides)

    return make


def basic_auth(user: Any) -> dict[str, str]:
    token = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
