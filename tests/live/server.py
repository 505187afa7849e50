"""A real uvicorn process serving the test project over ASGI, on a port of its own.

The parent binds the socket (port 0: the system picks a free one) and hands it to uvicorn
with ``--fd``, so there is no window in which another process could take the port. The
server uses the test database (``DATABASE_URL``) and this run's settings module.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def uvicorn_server(database_url: str, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """Run ``uvicorn tests.live.asgi:application`` until the block ends."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    port = listener.getsockname()[1]
    log_path = Path(tempfile.mkdtemp(prefix="agentcore-uvicorn-")) / "server.log"
    environment = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.live.settings")
    environment.update(DATABASE_URL=database_url, **(env or {}))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "tests.live.asgi:application",
                "--fd",
                str(listener.fileno()),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=ROOT,
            pass_fds=[listener.fileno()],
            start_new_session=True,
        )
    listener.close()
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                httpx.get(f"{server.url}/api/v1/tasks/config/", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not start:\n{server.log()[-4000:]}") from None
                time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
