"""Where the live updates come from under WSGI: the stream's snapshots, or polling.

``live_server`` is a WSGI server: the real streams answer the current rows and ``retry``,
and the browser reconnects (tests/browser/test_live_push.py has the pushing ASGI server).
``tests/browser/urls_streams.py`` makes the detail stream a 404, as a proxy might: the
script must fall back to polling the detail endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agentcore_task.services.writes import update_progress, update_task_status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def with_streams(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.browser.urls_streams"


def test_a_missing_stream_falls_back_to_polling(
    with_streams: None,
    open_page: Callable[..., Any],
    make_user: Callable[..., Any],
    make_execution: Callable[..., Any],
    allow_console_error: Callable[[str], None],
) -> None:
    allow_console_error(r"EventSource|status of 404")  # the refused stream itself
    alice = make_user(username="alice")
    row = make_execution(created_by=alice)
    update_task_status(row.task_id, "STARTED")
    page = open_page(alice, path=f"/tasks/executions/{row.pk}/")
    update_progress(row.task_id, 30, "polled")
    page.locator('.headline [role=progressbar][aria-valuenow="30"]').wait_for()
    assert page.locator(".headline [data-field=progress_message]").inner_text() == "polled"


def test_an_older_page_keeps_its_own_rows_live(
    open_page: Callable[..., Any],
    make_user: Callable[..., Any],
    make_execution: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentcore_task.dashboard import table

    monkeypatch.setattr(table, "PAGE_SIZE", 3)
    alice = make_user(username="alice")
    rows = [make_execution(created_by=alice) for _ in range(5)]
    page = open_page(alice, path="/tasks/executions/")
    page.get_by_role("link", name="Older").click()
    page.wait_for_url("**after=*")
    oldest = rows[0]
    assert page.locator(f'tr[data-execution-id="{oldest.pk}"]').count() == 1
    update_task_status(oldest.task_id, "STARTED")
    update_progress(oldest.task_id, 60)
    bar = f'tr[data-execution-id="{oldest.pk}"] [role=progressbar][aria-valuenow="60"]'
    page.locator(bar).wait_for()
    newest = make_execution(created_by=alice)
    update_progress(oldest.task_id, 70)
    page.locator(bar.replace('"60"', '"70"')).wait_for()  # a poll after the new row
    assert page.locator(f'tr[data-execution-id="{newest.pk}"]').count() == 0  # not on page 2


def test_under_wsgi_the_real_streams_snapshots_keep_the_table_live(
    open_page: Callable[..., Any],
    make_user: Callable[..., Any],
    make_execution: Callable[..., Any],
) -> None:
    alice = make_user(username="alice")
    row = make_execution(created_by=alice)
    update_task_status(row.task_id, "STARTED")
    page = open_page(alice)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto("/tasks/executions/")
    update_progress(row.task_id, 45, "snapshot")
    page.locator(
        f'tr[data-execution-id="{row.pk}"] [role=progressbar][aria-valuenow="45"]'
    ).wait_for()
    api = [url for url in asked if "/api/v1/tasks/executions/" in url]
    assert api and all("/executions/stream/?" in url for url in api)  # no poll of the list
