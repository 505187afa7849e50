"""A real Celery worker, in its own process, for the tests that need one.

``celery_worker_process`` (session-scoped) starts ``celery -A tests.celery_app worker`` on
this run's own queue (``CELERY_TASK_DEFAULT_QUEUE``, unique per run, so concurrent runs on
the same Redis never take each other's messages), pointed at pytest-django's test database,
waits until it answers a ping and stops it when the session ends. Tests that need the worker
to see their rows must commit them: use ``transactional_db``.

The worker auto-tracks ``tests.tracked.*`` (``AGENTCORE_TEST_AUTO_TRACK``) and uses the
prefork pool with one child, so that control commands (ping, revoke with terminate) are
answered while a task runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.celery_app import app

TRACKED_PATTERNS = "tests.tracked.*"
START_TIMEOUT = 60.0


@dataclass
class WorkerProcess:
    """The running worker: its process, its node name and its log file."""

    process: subprocess.Popen[bytes]
    hostname: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ping(self, timeout: float = 1.0) -> bool:
        return bool(app.control.ping(destination=[self.hostname], timeout=timeout))

    def revoke(self, task_id: str, terminate: bool = False) -> None:
        app.control.revoke(task_id, destination=[self.hostname], terminate=terminate)


def database_url(settings_dict: dict[str, Any]) -> str:
    """Return a libpq URL for a Django ``DATABASES`` entry (the test database's, here)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    host = settings_dict.get("HOST") or ""
    port = settings_dict.get("PORT") or ""
    name = quote(settings_dict["NAME"], safe="")
    if host.startswith("/"):  # a Unix socket directory
        query = f"?host={quote(host, safe='')}" + (f"&port={port}" if port else "")
        return f"postgresql://{credentials}@/{name}{query}"
    return f"postgresql://{credentials}@{host}{':' + str(port) if port else ''}/{name}"


def consumers_of(queue: str, timeout: float = 1.0) -> list[str]:
    """Return the node names of the workers now consuming ``queue`` (a control broadcast)."""
    replies = app.control.inspect(timeout=timeout).active_queues() or {}
    return sorted(
        node for node, queues in replies.items() if any(q["name"] == queue for q in queues)
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # warm shutdown
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the pool's children too
        process.wait(timeout=10)


@contextmanager
def running_worker() -> Iterator[WorkerProcess]:
    """Start a real worker on this run's queue and test database; stop it on leaving.

    Shared by ``celery_worker_process`` and the browser tests' worker (tests/browser), which
    stops at the end of its module so that two workers never share the queue.
    """
    from django.conf import settings
    from django.db import connection

    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    if others := consumers_of(queue):
        # Two workers on one queue split its tasks, and a test that waits on "the" worker
        # (terminate, its node name on the row) fails at random: refuse at once, by name.
        raise RuntimeError(f"workers already consume this run's queue {queue}: {others}")
    hostname = f"agentcore-tests-{uuid.uuid4().hex[:12]}@localhost"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=database_url(connection.settings_dict),
        AGENTCORE_TEST_CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        AGENTCORE_TEST_AUTO_TRACK=TRACKED_PATTERNS,
    )
    log_dir = Path(tempfile.mkdtemp(prefix="agentcore-worker-"))
    log_path = log_dir / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.celery_app",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                f"--hostname={hostname}",
                f"--queues={settings.CELERY_TASK_DEFAULT_QUEUE}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            start_new_session=True,  # its own process group, killed as one if it hangs
        )
    worker = WorkerProcess(process, hostname, log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not worker.ping():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the test worker did not start:\n{worker.log()[-4000:]}")
        yield worker
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup: None) -> Iterator[WorkerProcess]:
    """Start a real worker on this run's queue and test database; stop it at the end."""
    with running_worker() as worker:
        yield worker


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """Return ``wait_until(fetch, done, timeout=30)``: poll ``fetch()`` until ``done(value)``."""

    def wait(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = fetch()
            if done(value):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"gave up waiting after {timeout} s; last value: {value!r}")
            time.sleep(0.05)

    return wait
