"""Where the live updates come from: the API's event stream when it has one, else polling.

The API of this release has no stream; ``tests/browser/urls_streams.py`` stands in for the
one issue #14 adds, so these tests show the script's switch before it lands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agentcore_task.services.writes import update_progress, update_task_status
from tests.browser.urls_streams import PUSHED_PERCENT

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def with_streams(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.browser.urls_streams"


def test_the_table_listens_to_the_stream_when_the_api_has_one(
    with_streams: None,
    open_page: Callable[..., Any],
    make_user: Callable[..., Any],
    make_execution: Callable[..., Any],
) -> None:
    alice = make_user(username="alice")
    row = make_execution(created_by=alice)
    update_task_status(row.task_id, "STARTED")
    update_progress(row.task_id, 10)
    page = open_page(alice, path="/tasks/executions/")
    pushed = f'tr[data-execution-id="{row.pk}"] [role=progressbar]'
    page.locator(f'{pushed}[aria-valuenow="{PUSHED_PERCENT}"]').wait_for()
    assert page.locator(f"{pushed} .progress-text").inner_text() == f"{PUSHED_PERCENT}%"


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
