"""The browser tests' harness: Debian's Chromium driven by Playwright, against a live server.

- ``live_server`` (pytest-django): the test project in a thread, static files included, on a
  free port; its rows must be committed, so these tests use the transactional database.
- ``browser``: Chromium from the system (``/usr/bin/chromium``, ``apt-get install
  chromium``), never a browser build of Playwright's own, which cannot be downloaded here.
- ``open_page(user, ...)``: a fresh browser context signed in as ``user`` (a session cookie
  made by Django's test client), whose page fails the test on any console error or uncaught
  exception, CSP violations included; ``allow_console_error`` lets a test expect one.
- ``axe``: axe-core from the npm registry (``npm pack``, cached under tests/browser/.cache,
  not in the repository), injected into the page; ``check_accessibility(page)`` fails on
  serious or critical violations.
- ``asgi_server``: the test project under a real uvicorn process, for the live streams.
- ``browser_worker``: a real Celery worker for this module only (tests/celery/conftest.py);
  never import the session's ``celery_worker_process`` here, which would start a second
  worker on the run's queue that lives until the session ends.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.celery.conftest import WorkerProcess, database_url, running_worker
from tests.live.server import Server, uvicorn_server

AXE_VERSION = "4.14.1"
CACHE = Path(__file__).resolve().parent / ".cache"
DOCS = Path(__file__).resolve().parents[2] / "docs"
SCREENSHOTS_ENV = "AGENTCORE_DOCS_SCREENSHOTS"
"""Set to 1 (``make screenshots``) to write the docs' screenshots into docs/."""


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "The browser tests need Debian's Chromium: apt-get install -y chromium "
            "(.ci/run installs it when it is missing)."
        )
    return path


@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, and Django refuses database
    # calls from a thread with a running loop unless told otherwise. Nothing here is async:
    # the loop only drives the browser. Package-scoped, so the rest of a run keeps the check.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as driver:
            yield driver
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def browser(playwright_driver: Any) -> Iterator[Any]:
    chromium = playwright_driver.chromium.launch(executable_path=chromium_path())
    try:
        yield chromium
    finally:
        chromium.close()


@dataclass
class ConsoleWatch:
    """Console errors and page exceptions of one page, and the ones the test expects."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def allow_console_error(console: ConsoleWatch) -> Callable[[str], None]:
    """Return ``allow(pattern)``: a console error matching it does not fail the test."""

    def allow(pattern: str) -> None:
        console.allowed.append(re.compile(pattern))

    return allow


def session_cookie(user: Any, base_url: str) -> dict[str, Any]:
    """Return a session cookie of ``user`` for the live server, as a login would set it."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    morsel = client.cookies[settings.SESSION_COOKIE_NAME]
    return {"name": morsel.key, "value": morsel.value, "url": base_url}


@pytest.fixture
def open_page(
    browser: Any, live_server: Any, console: ConsoleWatch
) -> Iterator[Callable[..., Any]]:
    """Return ``open_page(user=None, path=None, **context_options)``: a watched page.

    ``user`` signs the context in; ``path`` is opened at once; options go to
    ``browser.new_context`` (``color_scheme="dark"``, ``java_script_enabled=False``...).
    """
    contexts: list[Any] = []

    def open_(user: Any = None, path: str | None = None, **options: Any) -> Any:
        options.setdefault("base_url", live_server.url)
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(**options)
        contexts.append(context)
        if user is not None:
            context.add_cookies([session_cookie(user, live_server.url)])
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on(
            "console",
            lambda message: (
                console.errors.append(f"console: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda error: console.errors.append(f"exception: {error}"))
        if path is not None:
            page.goto(path)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert console.unexpected() == [], "the pages logged errors"


def axe_source() -> str:
    """Return axe-core's script, fetched from the npm registry once and cached."""
    script = CACHE / f"axe-core-{AXE_VERSION}.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("The accessibility check needs npm (apt-get install -y npm).")
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "pack", f"axe-core@{AXE_VERSION}", "--pack-destination", str(CACHE)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        with tarfile.open(CACHE / f"axe-core-{AXE_VERSION}.tgz") as archive:
            member = archive.extractfile("package/axe.min.js")
            assert member is not None
            script.write_bytes(member.read())
    return script.read_text()


@pytest.fixture(scope="session")
def axe() -> str:
    return axe_source()


@pytest.fixture
def check_accessibility(axe: str) -> Callable[[Any], list[dict[str, Any]]]:
    """Return ``check(page)``: run axe-core on the page, fail on serious/critical violations.

    The script goes in through the DevTools protocol (``evaluate``), which the page's
    Content-Security-Policy does not govern, so the policy under test stays as served.
    """

    def check(page: Any) -> list[dict[str, Any]]:
        page.evaluate(f"(() => {{ {axe}\n }})()")
        assert page.evaluate("typeof window.axe") == "object", "axe-core did not load"
        result = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        bad = [v for v in result if v.get("impact") in ("serious", "critical")]
        summary = [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"][:3]]}
            for v in bad
        ]
        assert bad == [], json.dumps(summary, indent=2)
        return result

    return check


@pytest.fixture
def screenshot() -> Callable[[Any, str], None]:
    """Return ``screenshot(page, name)``: into docs/ when ``AGENTCORE_DOCS_SCREENSHOTS=1``."""

    def take(page: Any, name: str) -> None:
        if os.environ.get(SCREENSHOTS_ENV) == "1":
            page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture(scope="module")
def asgi_server(django_db_setup: None) -> Iterator[Server]:
    """The test project under a real uvicorn process (tests/live/server.py), per module."""
    from django.db import connection

    with uvicorn_server(database_url(connection.settings_dict)) as server:
        yield server


@pytest.fixture(scope="module")
def browser_worker(django_db_setup: None) -> Iterator[WorkerProcess]:
    """A real Celery worker for the tests of one module, stopped when the module ends."""
    with running_worker() as worker:
        yield worker


@pytest.fixture
def wait_for_row() -> Callable[[str], Any]:
    """Return ``wait_for_row(task_id)``: the execution once the worker has recorded it."""
    import time

    from agentcore_task.models import TaskExecution

    def wait(task_id: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while (row := TaskExecution.objects.filter(task_id=task_id).first()) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no row for {task_id} after {timeout} s")
            time.sleep(0.05)
        return row

    return wait
