"""Tests of the devservers package: finding, starting and always removing servers.

The embedded servers are started for real (a PostgreSQL takes one to two seconds), and the
"whatever happens to the parent" promise is checked by killing a child process that owns
servers with SIGTERM and with SIGKILL.  None of these tests needs Django's test database.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest

from devservers import (
    EmbeddedPostgres,
    EmbeddedRedis,
    database_settings_from_url,
    resolve_database_url,
    resolve_redis_url,
)
from devservers import resolve as servers

REPO_ROOT = Path(__file__).resolve().parents[2]
CLEANUP_DEADLINE = 15.0


# --------------------------------------------------------------------------- helpers


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs; zombies (orphans PID 1 has not reaped yet) count as gone."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _redis_pong(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith(b"+PONG")


def _closed_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _child_env(**extra: str) -> dict[str, str]:
    """Environment for a child Python: repo importable, no server variables inherited."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "AGENTCORE_EMBEDDED")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _read_json_line(proc: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    """Read the first stdout line of ``proc`` as JSON, without hanging if it never comes."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or proc.poll() is not None:
            break
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            data += chunk
    if b"\n" not in data:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"child printed no JSON line (stdout {data!r}); stderr:\n{err.decode()}")
    result: dict[str, Any] = json.loads(data.split(b"\n", 1)[0])
    return result


def _wait_until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


@contextlib.contextmanager
def _reap_leftovers(
    pids: list[int], directories: list[str], postmasters: tuple[int, ...] = ()
) -> Iterator[None]:
    """Kill and delete whatever a failing test would otherwise leave on the machine.

    Postmasters get SIGQUIT (immediate shutdown) first: a SIGKILLed postmaster leaves its
    shared memory segments behind.
    """
    try:
        yield
    finally:
        for pid in postmasters:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGQUIT)
                _wait_until(lambda pid=pid: not _alive(pid), 5)
        for pid in pids:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)


# --------------------------------------------------------------------------- (1) start/stop


@pytest.mark.slow
def test_embedded_postgres_serves_then_stop_removes_everything() -> None:
    server = EmbeddedPostgres()
    started = time.monotonic()
    url = server.start()
    startup = time.monotonic() - started
    directory, port, pid, watchdog_pid = (
        server.directory,
        server.port,
        server.pid,
        server.watchdog_pid,
    )
    with _reap_leftovers([pid, watchdog_pid], [str(directory)], postmasters=(pid,)):
        try:
            assert port != 5432
            assert url == f"postgresql://postgres@127.0.0.1:{port}/postgres"
            assert directory.is_dir() and (directory / "data" / "PG_VERSION").is_file()
            assert _alive(pid) and _alive(watchdog_pid)
            with psycopg.connect(url, connect_timeout=5) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
                assert conn.execute("SHOW fsync").fetchone() == ("off",)
                assert conn.execute("SHOW max_connections").fetchone() == ("200",)
        finally:
            server.stop()
        assert not directory.exists()
        assert not _port_open(port)
        assert not _alive(pid)
        assert not _alive(watchdog_pid)
        server.stop()  # a second stop (as atexit will do) is harmless
    print(f"embedded PostgreSQL started in {startup:.2f} s")


@pytest.mark.slow
def test_embedded_redis_context_manager_serves_then_cleans_up() -> None:
    with EmbeddedRedis() as server:
        directory, port, pid, watchdog_pid = (
            server.directory,
            server.port,
            server.pid,
            server.watchdog_pid,
        )
        assert server.url == f"redis://127.0.0.1:{port}/0"
        assert port != 6379
        assert _redis_pong(port)
    with _reap_leftovers([pid, watchdog_pid], [str(directory)]):
        assert not directory.exists()
        assert not _port_open(port)
        assert not _alive(pid)
        assert not _alive(watchdog_pid)


# --------------------------------------------------------------------------- (2) killed parent

_OWNER_SCRIPT = textwrap.dedent(
    """
    import atexit, json, os, socket, time
    import psycopg
    from devservers import EmbeddedPostgres, EmbeddedRedis

    pg = EmbeddedPostgres()
    pg.start()
    redis = EmbeddedRedis()
    redis.start()
    conn = psycopg.connect(pg.url)  # an open backend must not delay the cleanup
    conn.execute("SELECT 1")

    # A forked child that exits normally runs atexit handlers: they must not stop our
    # servers.  A forked child that lives on must not keep the watchdogs' pipes open.
    quitter = os.fork()
    if quitter == 0:
        atexit._run_exitfuncs()
        os._exit(0)
    os.waitpid(quitter, 0)
    sleeper = os.fork()
    if sleeper == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)  # leave the test's pipes alone
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        time.sleep(120)
        os._exit(0)
    conn.execute("SELECT 1")
    with socket.create_connection(("127.0.0.1", redis.port), timeout=2) as s:
        s.sendall(b"PING\\r\\n")
        assert s.recv(64).startswith(b"+PONG")

    print(json.dumps({
        "pg_pid": pg.pid,
        "pg_children": [p.pid for p in __import__("psutil").Process(pg.pid).children()],
        "pg_dir": str(pg.directory),
        "pg_port": pg.port,
        "pg_watchdog": pg.watchdog_pid,
        "redis_pid": redis.pid,
        "redis_dir": str(redis.directory),
        "redis_port": redis.port,
        "redis_watchdog": redis.watchdog_pid,
        "sleeper": sleeper,
    }), flush=True)
    time.sleep(600)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_servers_removed_when_owner_is_killed(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _OWNER_SCRIPT],
        cwd=REPO_ROOT,
        env=_child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _check_owner_cleanup(proc, sig)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def _check_owner_cleanup(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    info = _read_json_line(proc, timeout=90)
    pids = [
        info["pg_pid"],
        *info["pg_children"],
        info["redis_pid"],
        info["pg_watchdog"],
        info["redis_watchdog"],
    ]
    directories = [info["pg_dir"], info["redis_dir"]]
    with _reap_leftovers([*pids, info["sleeper"]], directories, (info["pg_pid"],)):
        assert all(_alive(pid) for pid in pids)
        assert all(Path(directory).is_dir() for directory in directories)
        assert info["pg_children"], "the postmaster should have background processes"

        proc.send_signal(sig)
        proc.wait(timeout=10)
        assert proc.returncode == -sig

        def everything_gone() -> bool:
            return not any(_alive(pid) for pid in pids) and not any(
                os.path.lexists(directory) for directory in directories
            )

        cleaned = _wait_until(everything_gone, CLEANUP_DEADLINE)
        left = [pid for pid in pids if _alive(pid)]
        left_dirs = [directory for directory in directories if os.path.lexists(directory)]
        assert cleaned, f"left behind: pids {left}, directories {left_dirs}"
        assert not _port_open(info["pg_port"])
        assert not _port_open(info["redis_port"])
        # The forked sleeper is still alive: the cleanup did not wait for it.
        assert _alive(info["sleeper"])


# --------------------------------------------------------------------------- (3) resolving


@pytest.mark.slow
def test_resolve_uses_a_local_server_and_creates_the_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The "local server" branch, with embedded servers standing in for 5432 and 6379."""
    with EmbeddedPostgres() as local_pg, EmbeddedRedis() as local_redis:
        monkeypatch.delenv("DATABASE_URL", raising=False)
        monkeypatch.delenv("REDIS_URL", raising=False)
        monkeypatch.delenv("AGENTCORE_EMBEDDED", raising=False)
        monkeypatch.setattr(servers, "LOCAL_POSTGRES_PORT", local_pg.port)
        monkeypatch.setattr(servers, "LOCAL_REDIS_PORT", local_redis.port)
        monkeypatch.setattr(servers, "_embedded_postgres", None)
        monkeypatch.setattr(servers, "_embedded_redis", None)

        url = resolve_database_url("agentcore_resolved")
        assert url == f"postgresql://postgres@127.0.0.1:{local_pg.port}/agentcore_resolved"
        assert os.environ["DATABASE_URL"] == url
        with psycopg.connect(url, connect_timeout=5) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("agentcore_resolved",)
        # A second call (another settings import) returns the same and creates nothing.
        assert resolve_database_url("agentcore_resolved") == url

        redis_url = resolve_redis_url()
        assert redis_url == f"redis://127.0.0.1:{local_redis.port}/0"
        assert os.environ["REDIS_URL"] == redis_url
        assert servers._embedded_postgres is None
        assert servers._embedded_redis is None


_RESOLVE_SCRIPT = textwrap.dedent(
    """
    import json, os, socket, subprocess, sys
    import psycopg
    from devservers import resolve as servers

    mode = sys.argv[1]
    if mode == "forced":
        # Forced: the local servers must not even be probed.
        def no_local_probe(original):
            def probe(host, port, *args, **kwargs):
                assert port not in (5432, 6379), f"probed local port {port} although forced"
                return original(host, port, *args, **kwargs)
            return probe
        servers.port_open = no_local_probe(servers.port_open)
        servers.redis_ping = no_local_probe(servers.redis_ping)
    else:
        # Nothing local: point the probes at ports where nobody listens.
        servers.LOCAL_POSTGRES_PORT = int(sys.argv[2])
        servers.LOCAL_REDIS_PORT = int(sys.argv[3])

    url = servers.resolve_database_url("agentcore_check")
    redis_url = servers.resolve_redis_url()
    assert os.environ["DATABASE_URL"] == url and os.environ["REDIS_URL"] == redis_url
    with psycopg.connect(url, connect_timeout=5) as conn:
        dbname = conn.execute("SELECT current_database()").fetchone()[0]
    port = int(redis_url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"PING\\r\\n")
        pong = s.recv(64).decode()
    # A child re-importing the settings must reuse the servers, not start new ones.
    child = subprocess.run(
        [sys.executable, "-c",
         "from devservers import *; "
         "print(resolve_database_url('other')); print(resolve_redis_url())"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()
    print(json.dumps({
        "url": url, "redis_url": redis_url, "dbname": dbname, "pong": pong,
        "child": child,
        "pg_dir": str(servers._embedded_postgres.directory),
        "redis_dir": str(servers._embedded_redis.directory),
        "pids": [servers._embedded_postgres.pid, servers._embedded_redis.pid,
                 servers._embedded_postgres.watchdog_pid,
                 servers._embedded_redis.watchdog_pid],
    }), flush=True)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["forced", "nothing-local"])
def test_resolve_starts_embedded_servers_reused_by_children(mode: str) -> None:
    env = _child_env(AGENTCORE_EMBEDDED="1") if mode == "forced" else _child_env()
    argv = [sys.executable, "-c", _RESOLVE_SCRIPT, mode]
    if mode != "forced":
        argv += [str(_closed_port()), str(_closed_port())]
    result = subprocess.run(
        argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout.strip().splitlines()[-1])
    with _reap_leftovers(info["pids"], [info["pg_dir"], info["redis_dir"]], (info["pids"][0],)):
        db = database_settings_from_url(info["url"])
        assert db["HOST"] == "127.0.0.1" and db["PORT"] not in ("", "5432")
        assert db["NAME"] == "agentcore_check" == info["dbname"]
        assert not info["redis_url"].startswith("redis://127.0.0.1:6379/")
        assert info["pong"].startswith("+PONG")
        assert info["child"] == [info["url"], info["redis_url"]]
        # The child exited normally: atexit stopped both servers and removed their files.
        assert not _port_open(int(db["PORT"]))
        assert not any(_alive(pid) for pid in info["pids"])
        assert not os.path.lexists(info["pg_dir"])
        assert not os.path.lexists(info["redis_dir"])
