"""Live updates pushed by the real event streams, in Chromium, from a real uvicorn server.

The pages are served over ASGI (``tests/live/server.py``: uvicorn, the test database, one
hub listening for the status trigger's doorbell), so ``executions/stream/`` and
``executions/{id}/stream/`` stay open and push each change. The page must use them and never
poll, and a stream never carries another user's row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agentcore_task.services.writes import update_progress, update_task_status
from tests.browser.conftest import ConsoleWatch, session_cookie
from tests.live.server import Server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

API = "/api/v1/tasks/executions/"


@pytest.fixture
def asgi_page(
    browser: Any, asgi_server: Server, console: ConsoleWatch
) -> Iterator[Callable[..., tuple[Any, list[str]]]]:
    """Return ``open(user, path)``: a page of the uvicorn server signed in as ``user``, and
    the list of URLs it requested; a console error fails the test."""
    contexts: list[Any] = []

    def open_(user: Any, path: str) -> tuple[Any, list[str]]:
        context = browser.new_context(base_url=asgi_server.url, locale="en-GB")
        contexts.append(context)
        context.add_cookies([session_cookie(user, asgi_server.url)])
        page = context.new_page()
        page.set_default_timeout(20_000)
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        page.on(
            "console",
            lambda m: console.errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda error: console.errors.append(str(error)))
        page.goto(path)
        return page, asked

    yield open_
    for context in contexts:
        context.close()
    assert console.unexpected() == [], "the pages logged errors"


def _api_requests(asked: list[str]) -> list[str]:
    return [url for url in asked if API in url]


def test_the_table_is_pushed_its_owners_rows_only(
    asgi_page: Callable[..., tuple[Any, list[str]]],
    make_user: Callable[..., Any],
    make_execution: Callable[..., Any],
) -> None:
    alice, bob = make_user(username="alice"), make_user(username="bob")
    first = make_execution(created_by=alice, task_name="tests.alice_first")
    alices, alice_asked = asgi_page(alice, "/tasks/executions/")
    bobs, bob_asked = asgi_page(bob, "/tasks/executions/")
    for page in (alices, bobs):
        page.evaluate("window.notReloaded = true")

    secret = make_execution(created_by=bob, task_name="tests.bob_secret")
    fresh = make_execution(created_by=alice, task_name="tests.alice_fresh")
    bobs.locator(f'tr[data-execution-id="{secret.pk}"]').wait_for()
    alices.locator(f'tr[data-execution-id="{fresh.pk}"]').wait_for()
    update_task_status(first.task_id, "STARTED")
    update_progress(first.task_id, 64, "pushed")
    bar = f'tr[data-execution-id="{first.pk}"] [role=progressbar][aria-valuenow="64"]'
    alices.locator(bar).wait_for()
    update_task_status(secret.task_id, "STARTED")
    update_progress(secret.task_id, 12, "bob's only")
    bobs.locator(f'tr[data-execution-id="{secret.pk}"] [aria-valuenow="12"]').wait_for()
    update_progress(first.task_id, 65)  # after bob's change: alice's stream had its chance
    alices.locator(bar.replace('"64"', '"65"')).wait_for()

    assert "tests.bob_secret" not in alices.content()
    assert "bob's only" not in alices.content()
    assert fresh.pk not in [
        int(pk) for pk in re.findall(r'data-execution-id="(\d+)"', bobs.content())
    ]
    assert alices.evaluate("window.notReloaded") is True
    for asked in (alice_asked, bob_asked):
        api = _api_requests(asked)
        assert api and all("/executions/stream/?" in url for url in api), api  # never polled


def test_the_detail_page_and_the_running_list_are_pushed_the_row(
    asgi_page: Callable[..., tuple[Any, list[str]]],
    make_user: Callable[..., Any],
    make_execution: Callable[..., Any],
) -> None:
    alice = make_user(username="alice")
    row = make_execution(created_by=alice)
    page, asked = asgi_page(alice, f"/tasks/executions/{row.pk}/")
    overview, _ = asgi_page(alice, "/tasks/")
    update_task_status(row.task_id, "STARTED")
    overview.locator(f'tr[data-execution-id="{row.pk}"]').wait_for()  # now running
    update_progress(row.task_id, 30, "thirty")
    page.locator('.headline [role=progressbar][aria-valuenow="30"]').wait_for()
    assert page.locator(".headline [data-field=progress_message]").inner_text() == "thirty"
    assert page.locator("[data-field=updated_at] time").count() == 1  # not blanked by the event
    update_task_status(row.task_id, "SUCCESS", result={"ok": True})
    page.locator(".headline [data-field=status]", has_text="SUCCESS").wait_for()
    assert page.locator("[data-finished-notice]").is_visible()
    overview.locator(f'tr[data-execution-id="{row.pk}"]').wait_for(state="detached")
    stream = f"{page.url.split('/tasks/')[0]}{API}{row.pk}/stream/"
    assert set(_api_requests(asked)) == {stream}  # the stream only, never a poll
