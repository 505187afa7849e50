"""Workers a test starts, stops, restarts or kills itself, on a queue of its own.

The session worker of ``conftest.py`` must survive the whole run; the operate tests need
workers they can restart (a revoke must outlive every worker's memory) and SIGKILL (a lock
left behind). Each gets a unique node name and consumes only the queues it is given.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.celery.conftest import (
    START_TIMEOUT,
    TRACKED_PATTERNS,
    WorkerProcess,
    _stop,
    database_url,
)


def start_worker(queue: str, **env: str) -> WorkerProcess:
    """Start ``celery worker`` on ``queue`` against the test database; wait for its ping."""
    from django.db import connection

    hostname = f"agentcore-ops-{uuid.uuid4().hex[:12]}@localhost"
    environment = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=database_url(connection.settings_dict),
        AGENTCORE_TEST_AUTO_TRACK=TRACKED_PATTERNS,
        **env,
    )
    log_path = Path(tempfile.mkdtemp(prefix="agentcore-ops-worker-")) / "worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker",
                "--pool=prefork", "--concurrency=1", "--without-gossip", "--without-mingle",
                "--loglevel=INFO", f"--hostname={hostname}", f"--queues={queue}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=Path(__file__).resolve().parents[2],
            start_new_session=True,
        )  # fmt: skip
    worker = WorkerProcess(process, hostname, log_path)
    deadline = time.monotonic() + START_TIMEOUT
    while not worker.ping():
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            raise RuntimeError(f"the worker did not start:\n{worker.log()[-4000:]}")
    return worker


def stop_worker(worker: WorkerProcess) -> None:
    """Warm shutdown (SIGTERM), as a deploy restarts workers."""
    _stop(worker.process)


def kill_worker(worker: WorkerProcess) -> None:
    """SIGKILL the worker and its pool children at once: nothing gets to clean up."""
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait(timeout=10)


@contextmanager
def worker_on(queue: str, **env: str) -> Iterator[WorkerProcess]:
    """Run a worker on ``queue`` for the block; stop it (or make sure it is dead) after."""
    worker = start_worker(queue, **env)
    try:
        yield worker
    finally:
        stop_worker(worker)


def new_queue() -> str:
    return f"agentcore-ops-{uuid.uuid4().hex}"
