"""celery-progress's own JavaScript draws its bar to 100% against ``progress/{task_id}/``.

Debian's Chromium, driven by Playwright, loads a page of the test project served by a real
uvicorn process: ``CeleryProgressBar`` from the celery-progress package polls this API as a
logged-in user while a real worker runs a task that reports through ``ProgressRecorder``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from agentcore_task.tracking import tracking_user
from tests.browser.conftest import session_cookie
from tests.celery.worker import TRACKED, row_of
from tests.celery_tasks import release, tracked_recorder

# The module's own worker (``browser_worker``), stopped when the module ends: the session
# worker of tests/celery must be the only one on this run's queue once those tests start.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("browser_worker"),
]


def wait_for_row(task_id: str, done: Callable[[Any], bool]) -> None:
    deadline = time.monotonic() + 30
    while (row := row_of(task_id)) is None or not done(row):
        assert time.monotonic() < deadline, f"gave up waiting for the row of {task_id}"
        time.sleep(0.05)


def logged_in_page(browser: Browser, server_url: str, user: object):
    context = browser.new_context()
    context.add_cookies([session_cookie(user, server_url)])
    return context.new_page()


@TRACKED
def test_the_celery_progress_bar_reaches_100_percent(asgi_server, browser, make_user):
    alice = make_user()
    key = uuid.uuid4().hex
    with tracking_user(alice):
        task_id = tracked_recorder.delay(key).id
    wait_for_row(task_id, lambda row: row.created_by_id is not None)

    page = logged_in_page(browser, asgi_server.url, alice)
    page.goto(f"{asgi_server.url}/progress-page/{task_id}/")
    bar, message = page.locator("#progress-bar"), page.locator("#progress-bar-message")
    expect(message).to_have_text("3 of 10 processed. three", timeout=20_000)
    expect(bar).to_have_attribute("style", re.compile(r"width: 30%"))

    release(key)
    expect(bar).to_have_attribute("style", re.compile(r"width: 100%"), timeout=20_000)
    expect(message).to_have_text("Success!", timeout=20_000)


@TRACKED
def test_another_users_task_is_not_shown(asgi_server, browser, make_user):
    alice, mallory = make_user(), make_user()
    key = uuid.uuid4().hex
    with tracking_user(alice):
        task_id = tracked_recorder.delay(key).id
    try:
        wait_for_row(task_id, lambda row: bool(row.metadata))
        page = logged_in_page(browser, asgi_server.url, mallory)
        page.goto(f"{asgi_server.url}/progress-page/{task_id}/")
        expect(page.locator("#progress-bar-message")).to_contain_text(
            "something went wrong", timeout=20_000
        )
    finally:
        release(key)
