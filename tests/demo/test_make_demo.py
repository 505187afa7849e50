"""The README's first command, ``make demo``, run from a fresh clone with embedded servers.

The clone is of the repository this file lives in (its committed state); it reuses this
environment's virtualenv (``VENV=... INSTALL=no``) instead of installing into a new one.
While the demo runs, the test reads the API as a client would (HTTP Basic, demo / demo); after
it stopped, it checks that nothing it started is left: no process, no listening port, no
temporary directory.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN_SECONDS = 40
START_TIMEOUT = 120
"""Seconds for the clone's demo to answer: embedded PostgreSQL's initdb and the migrations."""
AUTH = "Basic " + base64.b64encode(b"demo:demo").decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(url: str, auth: bool = True) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": AUTH} if auth else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def processes_with_marker(marker: str) -> list[str]:
    """Command lines of the live processes whose environment carries ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                status = (entry / "status").read_text()
                if "\nState:\tZ" not in status:
                    found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


def port_is_free(port: int) -> bool:
    """Nobody listens on ``port``: a server could bind it again at once.

    SO_REUSEADDR, as servers set it: connections the demo closed may still sit in TIME_WAIT.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class DemoWatcher:
    """What the test saw through the API while the demo ran."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.rows: dict[str, dict[str, Any]] = {}
        self.running_with_progress: set[str] = set()
        self.failure_detail: dict[str, Any] | None = None
        self.success_detail: dict[str, Any] | None = None
        self.skipped_detail: dict[str, Any] | None = None
        self.unauthenticated_status: int | None = None
        self.swagger_ok = False

    @property
    def complete(self) -> bool:
        return bool(
            self.failure_detail and self.success_detail and self.running_with_progress
            and self.skipped_detail and self.swagger_ok
        )  # fmt: skip

    def poll(self) -> None:
        status, body = get(f"{self.base}/api/v1/tasks/executions/?my_tasks=false&page_size=100")
        if status != 200:
            return
        for row in json.loads(body)["results"]:
            self.rows[row["task_id"]] = row
            metadata = row.get("metadata") or {}
            if row["status"] == "STARTED" and "progress_percent" in metadata:
                self.running_with_progress.add(row["task_id"])
            if row["status"] == "FAILURE" and self.failure_detail is None:
                self.failure_detail = self.detail(row["id"])
            if row["status"] == "SUCCESS" and "progress_step" in metadata:
                self.success_detail = self.success_detail or self.detail(row["id"])
            if (
                row["task_name"] == "demo.tasks.sync_inventory"
                and row["status"] == "REVOKED"
                and metadata.get("skipped") is True
                and "progress_step" not in metadata  # its body never ran
                and self.skipped_detail is None
            ):
                self.skipped_detail = self.detail(row["id"])
        if self.unauthenticated_status is None:
            self.unauthenticated_status = get(f"{self.base}/api/v1/tasks/executions/", False)[0]
        if not self.swagger_ok:
            self.swagger_ok = self.swagger_works()

    def detail(self, pk: int) -> dict[str, Any]:
        status, body = get(f"{self.base}/api/v1/tasks/executions/{pk}/")
        assert status == 200, body
        detail: dict[str, Any] = json.loads(body)
        return detail

    def swagger_works(self) -> bool:
        """Swagger UI's page, its JavaScript (from the sidecar, not a CDN) and the schema."""
        status, page = get(f"{self.base}/api/docs/", auth=False)
        if status != 200 or b"/static/drf_spectacular_sidecar/" not in page:
            return False
        script = f"{self.base}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
        schema_status, schema = get(f"{self.base}/api/schema/?format=json")
        return (
            get(script, auth=False)[0] == 200
            and schema_status == 200
            and "/api/v1/tasks/executions/" in json.loads(schema)["paths"]
        )


@pytest.mark.slow
def test_make_demo_from_a_fresh_clone_shows_progress_and_leaves_nothing_behind(
    tmp_path: Path,
) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=120)
    temp = tmp_path / "tmp"
    temp.mkdir()
    port = free_port()
    marker = f"agentcore-demo-test-{uuid.uuid4().hex}"
    env = {
        key: value
        for key, value in os.environ.items()
        # Not the test suite's servers or settings, nor its make's variables.
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "MAKEFLAGS",
                       "MAKELEVEL", "MFLAGS", "VIRTUAL_ENV", "PYTHONPATH"}
    }  # fmt: skip
    env.update(AGENTCORE_EMBEDDED="1", TMPDIR=str(temp), AGENTCORE_DEMO_TEST_MARKER=marker)
    venv = Path(sys.prefix)
    assert (venv / "bin" / "python").exists(), "run the tests from the project's virtualenv"
    command = [
        "make", "--no-print-directory", "demo", f"VENV={venv}", "INSTALL=no",
        f"ARGS=--for {RUN_SECONDS} --port {port}",
    ]  # fmt: skip
    log_path = tmp_path / "demo.log"
    watcher = DemoWatcher(f"http://127.0.0.1:{port}")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT + RUN_SECONDS
        while proc.poll() is None and time.monotonic() < deadline:
            if not watcher.complete:
                with contextlib.suppress(OSError):  # not listening yet, or stopping
                    watcher.poll()
            time.sleep(1)
        returncode = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:  # the test failed or timed out: stop it as Ctrl-C would
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    output = log_path.read_text(errors="replace")

    assert returncode == 0, output
    # What the terminal said: the login, the URLs, the outcomes read from the table.
    assert "login     demo / demo" in output
    assert f"curl -u demo:demo http://127.0.0.1:{port}/api/v1/tasks/executions/" in output
    assert "SUCCESS" in output and "FAILURE" in output
    assert "demo stopped" in output
    # What a client saw through the API, authenticated with HTTP Basic.
    assert watcher.unauthenticated_status in (401, 403)
    assert watcher.running_with_progress, f"no running execution with progress; {output}"
    success = watcher.success_detail
    assert success is not None, output
    assert success["metadata"]["progress_percent"] == 100
    assert success["metadata"]["progress_message"]
    assert success["created_by_username"] == "demo"
    failure = watcher.failure_detail
    assert failure is not None, output
    assert failure["error"].startswith("ValueError")
    assert "Traceback (most recent call last)" in failure["traceback"]
    assert "progress_step" in failure["metadata"]
    # Tracked automatically (AGENTCORE_TASK_AUTO_TRACK): rows with their creator, and the
    # duplicate sync recorded with the lock's "skipped" result.
    auto_rows = [
        row
        for row in watcher.rows.values()
        if row["task_name"] in {"demo.tasks.build_report", "demo.tasks.sync_inventory"}
    ]
    assert {row["task_name"] for row in auto_rows} == {
        "demo.tasks.build_report",
        "demo.tasks.sync_inventory",
    }
    assert {row["created_by_username"] for row in auto_rows} == {"demo"}
    assert watcher.skipped_detail is not None, output
    assert watcher.skipped_detail["metadata"]["skip_reason"] == "task_already_running"
    assert watcher.skipped_detail["result"] is None, "a skipped run is no success"
    assert watcher.swagger_ok
    # Nothing left behind: processes, the port, the embedded server's directory.
    assert processes_with_marker(marker) == []
    assert port_is_free(port)
    assert list(temp.iterdir()) == []
