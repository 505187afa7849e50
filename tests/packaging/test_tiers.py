"""The unit tier runs with no server reachable and never asks for one.

Runs ``pytest tests/unit`` in a child where choosing the run's servers, probing a local port
and starting an embedded server all raise, with both URLs pointing at a port where nothing
listens. The tier passing there is
what ``make test-unit`` promises on a machine with no PostgreSQL or Redis.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys

from devservers import postgres, redis, resolve

import tests.settings


def refuse(*args, **kwargs):
    raise AssertionError("the unit tier asked for a server")


tests.settings.use_servers = refuse
resolve.port_open = resolve.redis_ping = refuse
postgres.EmbeddedPostgres.start = redis.EmbeddedRedis.start = refuse

import pytest

sys.exit(pytest.main(["tests/unit", "-q", "-p", "no:cacheprovider", *sys.argv[1:]]))
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _run_unit_tier(*args: str) -> subprocess.CompletedProcess[str]:
    port = _closed_port()
    env = {k: v for k, v in os.environ.items() if k != "AGENTCORE_EMBEDDED"}
    env.update(
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/nowhere",
        REDIS_URL=f"redis://127.0.0.1:{port}/0",
    )
    return subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # runs a pytest of its own
def test_the_unit_tier_passes_without_any_server_and_never_resolves_one() -> None:
    result = _run_unit_tier()
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "asked for a server" not in result.stdout


@pytest.mark.slow  # runs a pytest of its own
def test_a_unit_test_that_asks_for_the_database_is_refused() -> None:
    stray = ROOT / "tests" / "unit" / f"test_stray_{os.getpid()}.py"
    stray.write_text("def test_stray(db):\n    pass\n")
    try:
        result = _run_unit_tier(str(stray.relative_to(ROOT)))
    finally:
        stray.unlink()
    assert result.returncode != 0
    assert "move it to tests/integration" in result.stdout + result.stderr
