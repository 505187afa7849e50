"""Watchdog that removes an embedded server once the process that started it is gone.

``postgres.py`` and ``redis.py`` start PostgreSQL and Redis as child processes in temporary
directories. ``atexit`` only covers a normal interpreter exit; a SIGTERM, a SIGKILL or a
crash of the parent would leave a server running and a directory behind.  So every embedded
server gets one of these watchdogs as a separate process.  It holds the read end of a pipe
whose only write end is in the parent: the kernel closes that write end however the parent
ends, the read here returns EOF, and the watchdog stops the server and deletes its
directory.

Protocol on the pipe: one JSON object per line, written by the parent.

``{"directory": ...}``
    The temporary directory to delete; sent right after it is created.
``{"pg_ctl": ..., "datadir": ..., "run_as": [uid, gid] | null}``
    A PostgreSQL cluster to stop with ``pg_ctl stop -m immediate`` first.
``{"pid": ..., "identity": ..., "signal": ...}``
    A process to stop (initdb, the server): ``signal`` to it first (SIGQUIT, immediate
    shutdown, for a postmaster; SIGTERM otherwise), SIGKILL to its process group if it is
    still there after a grace period.  ``identity`` is the start time read from ``/proc``
    (null where unknown) so that a recycled pid is never killed.
``{"done": true}``
    The parent has already cleaned up; exit without doing anything.

EOF without ``done`` means the parent died: clean up.

This file is run as a script (``python -I -S _watchdog.py <fd>``) so that it needs
nothing but the standard library and works whatever ``sys.path`` the parent had; the
parent also imports it to share the process helpers below.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_POLL_INTERVAL = 0.05


def process_identity(pid: int) -> str | None:
    """Return the start time of ``pid`` from ``/proc`` (Linux), or None if unknown.

    A pid is only a number the kernel recycles; pairing it with the start time lets the
    watchdog tell the server it was told about from an unrelated process that later got
    the same pid.
    """
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    fields = data[data.rindex(b")") + 2 :].split()
    # fields[0] is field 3 (state); the start time is field 22.
    return fields[19].decode() if len(fields) > 19 else None


def process_alive(pid: int) -> bool:
    """Tell whether ``pid`` still runs; a zombie counts as gone.

    Orphaned servers are re-parented to PID 1, which in some containers never reaps
    them; ``kill(pid, 0)`` succeeds on a zombie, so ``/proc`` is checked as well.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self/stat").exists()
    except OSError:
        return True
    state = data[data.rindex(b")") + 2 :][:1]
    return state not in (b"Z", b"X")


def same_process(pid: int, identity: str | None) -> bool:
    """Tell whether ``pid`` is alive and still the process that was registered."""
    if not process_alive(pid):
        return False
    return identity is None or process_identity(pid) in (identity, None)


def wait_gone(pid: int, identity: str | None, timeout: float) -> bool:
    """Poll until the registered process has exited; return whether it did in time."""
    deadline = time.monotonic() + timeout
    while same_process(pid, identity):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_INTERVAL)
    return True


def signal_process(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group led by ``pid`` (or to ``pid`` alone).

    Servers are started in their own session, so their pid is also their process group;
    signalling the group reaches PostgreSQL's backends and initdb's helper processes too.
    """
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def terminate(pid: int, identity: str | None, first_signal: int, grace: float) -> None:
    """Stop a registered process: ``first_signal``, then SIGKILL after ``grace`` seconds.

    The first signal goes to the process alone, so that it shuts its helpers down itself
    (initdb closes the pipe its bootstrap backend reads, the postmaster stops its
    backends): they then release their shared memory, which SIGKILL would leave behind.
    """
    if not same_process(pid, identity):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, first_signal)
    if wait_gone(pid, identity, grace):
        return
    signal_process(pid, signal.SIGKILL)
    wait_gone(pid, identity, 5.0)


def pg_ctl_stop(pg_ctl: str, datadir: str, run_as: list[int] | None, timeout: float) -> bool:
    """Run ``pg_ctl stop -m immediate``; return whether it reported success.

    Immediate mode makes the postmaster stop its backends at once, whatever clients are
    still connected, and still release its shared memory on the way out, which a plain
    SIGKILL would not do.  pg_ctl refuses to run as root, hence ``run_as``.
    """
    if not Path(datadir, "postmaster.pid").exists():
        return True
    kwargs: dict[str, Any] = {}
    if run_as is not None:
        kwargs = {"user": run_as[0], "group": run_as[1], "extra_groups": []}
    try:
        result = subprocess.run(
            [pg_ctl, "stop", "-D", datadir, "-m", "immediate", "-w", "-t", str(int(timeout))],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            timeout=timeout + 5,
            check=False,
            **kwargs,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def remove_tree(directory: str) -> None:
    """Delete ``directory``, retrying while dying processes may still write into it."""
    for _ in range(20):
        shutil.rmtree(directory, ignore_errors=True)
        if not os.path.lexists(directory):
            return
        time.sleep(_POLL_INTERVAL)


def cleanup(state: dict[str, Any], pids: list[tuple[int, str | None, int]]) -> None:
    """Stop everything the parent registered and delete the server's directory.

    ``state`` merges the parent's messages: ``directory``, and for PostgreSQL ``pg_ctl``,
    ``datadir`` and ``run_as``.  Every step tolerates a server that is already gone.
    """
    if state.get("pg_ctl") and state.get("datadir"):
        pg_ctl_stop(state["pg_ctl"], state["datadir"], state.get("run_as"), 10.0)
    # Last registered first: the server before the initdb that preceded it.
    for pid, identity, first_signal in reversed(pids):
        terminate(pid, identity, first_signal, 10.0)
    if state.get("directory"):
        remove_tree(state["directory"])


def main(argv: list[str]) -> int:
    """Wait for the parent to go away, then clean up unless it said ``done`` first."""
    # A Ctrl-C or a hang-up aimed at the parent's terminal must not stop the watchdog
    # before it has done its job (it also runs in its own session for the same reason).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    fd = int(argv[1])
    state: dict[str, Any] = {}
    pids: list[tuple[int, str | None, int]] = []
    buffer = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if message.get("done"):
                return 0
            if isinstance(message.get("pid"), int):
                first_signal = message.get("signal")
                if not isinstance(first_signal, int):
                    first_signal = int(signal.SIGTERM)
                pids.append((message["pid"], message.get("identity"), first_signal))
            else:
                state.update(message)
    cleanup(state, pids)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
