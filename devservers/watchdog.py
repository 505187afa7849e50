"""The parent's end of the watchdog that cleans up an embedded server if this process dies.

``_watchdog.py`` is the other end, run as a separate process; see its docstring for why and
for the protocol spoken over the pipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

from devservers import _watchdog

_WATCHDOG_SCRIPT = str(Path(_watchdog.__file__).resolve())


def terminate(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
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


class Watchdog:
    """The parent's end of a watchdog process (see ``_watchdog.py``).

    The write end of the pipe must exist in this process only: if a server or any other
    child kept a copy, the watchdog would not see EOF when we die.  ``os.pipe`` returns
    non-inheritable descriptors, so exec'd children never get it; forked children (Celery
    prefork, multiprocessing ``fork``) do, and close it at once in ``_after_fork_in_child``.
    """

    _live: weakref.WeakSet[Watchdog] = weakref.WeakSet()

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
    os.register_at_fork(after_in_child=Watchdog._after_fork_in_child)
