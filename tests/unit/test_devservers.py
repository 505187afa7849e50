"""The parts of the devservers package that need no server: URL parsing and the choice rules.

The tests that start real servers are in ``tests/integration/test_servers.py``.
"""

from __future__ import annotations

import pytest

from devservers import (
    database_settings_from_url,
    embedded_forced,
    resolve_database_url,
    resolve_redis_url,
)
from devservers import resolve as servers


def test_resolve_honours_environment_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone:pw@db.example:6543/theirs")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6380/3")
    monkeypatch.setenv("AGENTCORE_EMBEDDED", "1")
    monkeypatch.setattr(servers, "_embedded_postgres", None)
    monkeypatch.setattr(servers, "_embedded_redis", None)

    assert resolve_database_url() == "postgresql://someone:pw@db.example:6543/theirs"
    assert resolve_redis_url() == "redis://cache.example:6380/3"
    assert servers._embedded_postgres is None
    assert servers._embedded_redis is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        ("0", False),
        ("no", False),
        ("1", True),
        ("true", True),
        ("YES", True),
        (" On ", True),
    ],
)
def test_embedded_forced(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool
) -> None:
    if value is None:
        monkeypatch.delenv("AGENTCORE_EMBEDDED", raising=False)
    else:
        monkeypatch.setenv("AGENTCORE_EMBEDDED", value)
    assert embedded_forced() is expected


# --------------------------------------------------------------------------- (4) URL parsing


def test_database_settings_from_full_url() -> None:
    settings = database_settings_from_url(
        "postgresql://alice:s%40cr%3Aet@db.example.com:6543/my%20db"
        "?sslmode=require&connect_timeout=5&application_name=agentcore"
    )
    assert settings == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "my db",
        "USER": "alice",
        "PASSWORD": "s@cr:et",
        "HOST": "db.example.com",
        "PORT": "6543",
        "OPTIONS": {
            "sslmode": "require",
            "connect_timeout": "5",
            "application_name": "agentcore",
        },
    }


def test_database_settings_from_minimal_and_socket_urls() -> None:
    minimal = database_settings_from_url("postgres://bob@localhost/app")
    assert (minimal["USER"], minimal["PASSWORD"], minimal["HOST"], minimal["PORT"]) == (
        "bob",
        "",
        "localhost",
        "",
    )
    assert minimal["NAME"] == "app"
    assert minimal["OPTIONS"] == {}

    socket_dir = database_settings_from_url(
        "postgresql://carol@/app?host=%2Frun%2Fpostgresql&port=5433&sslmode=disable"
    )
    assert socket_dir["HOST"] == "/run/postgresql"
    assert socket_dir["PORT"] == "5433"
    assert socket_dir["OPTIONS"] == {"sslmode": "disable"}


def test_database_settings_rejects_other_schemes() -> None:
    with pytest.raises(ValueError, match="PostgreSQL URL"):
        database_settings_from_url("mysql://root@localhost/app")
