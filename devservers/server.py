"""What every embedded server shares: its directory, its watchdog, start, stop and atexit."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from devservers import _watchdog
from devservers.watchdog import Watchdog

STARTUP_TIMEOUT = 30.0
_T = TypeVar("_T")


class EmbeddedServer:
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
        self._watchdog: Watchdog | None = None
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
            self._watchdog = Watchdog()
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
