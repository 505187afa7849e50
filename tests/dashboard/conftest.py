"""Dashboard fixtures: two ordinary users, staff, and rows of each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def alice(make_user: Callable[..., Any]) -> Any:
    return make_user(username="alice")


@pytest.fixture
def bob(make_user: Callable[..., Any]) -> Any:
    return make_user(username="bob")


@pytest.fixture
def staff(make_user: Callable[..., Any]) -> Any:
    return make_user(username="staff", is_staff=True)


@pytest.fixture
def login(client: Any) -> Callable[[Any], Any]:
    """Return ``login(user)``: the test client, signed in as ``user``."""

    def sign_in(user: Any) -> Any:
        client.force_login(user)
        return client

    return sign_in
