"""Dashboard fixtures: the test client signed in as a user (the users are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def login(client: Any) -> Callable[[Any], Any]:
    """Return ``login(user)``: the test client, signed in as ``user``."""

    def sign_in(user: Any) -> Any:
        client.force_login(user)
        return client

    return sign_in
