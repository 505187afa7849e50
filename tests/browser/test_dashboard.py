"""The dashboard in a real Chromium: clean pages, filters, live rows and bars, two users.

Every page runs under the test project's strict Content-Security-Policy, and any console
error (a CSP violation, a failed request, an exception) fails the test (tests/browser's
``open_page``).
"""

from __future__ import annotations

import json
import re
import time
import zoneinfo
from collections.abc import Callable
from typing import Any

import pytest

from agentcore_task.models import TaskExecution
from agentcore_task.services.writes import update_progress, update_task_status
from tests.celery_tasks import release, tracked_steps
from tests.rows import execute_with_rules_lifted

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NOT_FOUND = r"status of 404"


@pytest.fixture
def people(make_user: Callable[..., Any]) -> dict[str, Any]:
    return {
        "alice": make_user(username="alice"),
        "bob": make_user(username="bob"),
        "staff": make_user(username="operator", is_staff=True),
    }


def _rows(page: Any) -> list[int]:
    ids = page.locator("table.executions tbody[data-rows] tr").evaluate_all(
        "rows => rows.map(row => Number(row.dataset.executionId))"
    )
    return list(ids)


def _sample_rows(make_execution: Callable[..., Any], user: Any) -> dict[str, TaskExecution]:
    """A few rows in every interesting state, for pages that should look lived-in."""
    rows = {
        "done": make_execution(
            created_by=user,
            task_name="reports.tasks.build_report",
            module="reports",
            task_kwargs={"report": "monthly", "tenant": 42},
            metadata={"tenant": 42},
        ),
        "running": make_execution(
            created_by=user, task_name="billing.tasks.charge_cards", module="billing"
        ),
        "failed": make_execution(
            created_by=user, task_name="sync.tasks.import_feed", module="sync"
        ),
        "waiting": make_execution(
            created_by=user, task_name="reports.tasks.send_digest", module="reports"
        ),
    }
    update_task_status(rows["done"].task_id, "STARTED")
    update_progress(rows["done"].task_id, 100, "Rendered 12 pages")
    update_task_status(rows["done"].task_id, "SUCCESS", result={"pages": 12})
    update_task_status(rows["running"].task_id, "STARTED")
    update_progress(rows["running"].task_id, 40, "Charged 400 of 1,000 cards", "charge")
    update_task_status(rows["failed"].task_id, "STARTED")
    update_task_status(
        rows["failed"].task_id,
        "FAILURE",
        error="ConnectionError: feed.example unreachable",
        traceback='Traceback (most recent call last):\n  File "sync/tasks.py", line 8\n'
        "ConnectionError: feed.example unreachable",
    )
    return rows


def _history(make_execution: Callable[..., Any], user: Any, hours: int = 20) -> None:
    """Finished runs spread over the past hours, so the chart and the timings have a shape."""
    names = ["reports.tasks.build_report", "sync.tasks.import_feed", "billing.tasks.charge_cards"]
    for hour in range(hours):
        for index in range(1 + (hour * 7) % 5):
            name = names[(hour + index) % 3]
            row = make_execution(created_by=user, task_name=name, module=name.split(".")[0])
            failed = (hour + index) % 6 == 0
            execute_with_rules_lifted(
                """
                UPDATE agentcore_task_execution
                SET status = %s, created_at = now() - %s * interval '1 hour',
                    started_at = now() - %s * interval '1 hour' + interval '2 seconds',
                    finished_at = now() - %s * interval '1 hour' + %s * interval '1 second'
                WHERE id = %s
                """,
                ["FAILURE" if failed else "SUCCESS", hour, hour, hour, 4 + index * 9, row.pk],
            )


def test_the_hosts_login_page_guards_the_dashboard(
    open_page: Callable[..., Any], people: dict[str, Any]
) -> None:
    people["alice"].set_password("secret-pw")
    people["alice"].save()
    page = open_page(path="/tasks/executions/")
    assert re.search(r"/accounts/login/\?next=/tasks/executions/$", page.url)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("secret-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/tasks/executions/")
    assert page.get_by_role("heading", name="Executions").is_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_is_clean_and_accessible(
    open_page: Callable[..., Any],
    people: dict[str, Any],
    make_execution: Callable[..., Any],
    check_accessibility: Callable[[Any], Any],
    screenshot: Callable[[Any, str], None],
    scheme: str,
) -> None:
    _history(make_execution, people["alice"])
    rows = _sample_rows(make_execution, people["alice"])
    page = open_page(people["alice"], color_scheme=scheme, locale="en-GB")
    for path, name in (
        ("/tasks/", "overview"),
        ("/tasks/executions/", "executions"),
        (f"/tasks/executions/{rows['failed'].pk}/", "execution"),
        (f"/tasks/executions/{rows['running'].pk}/", "execution-running"),
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        check_accessibility(page)
        if scheme == "light" and name != "execution-running":
            screenshot(page, f"dashboard-{name}")
    # Bars say their value to assistive technology and in text; statuses are words.
    bar = page.get_by_role("progressbar").first
    assert bar.get_attribute("aria-valuenow") == "40"
    assert "40%" in bar.inner_text()
    assert page.locator(".headline [data-field=status]").inner_text() == "STARTED"


def test_times_are_shown_in_the_readers_time_zone_to_the_second(
    open_page: Callable[..., Any], people: dict[str, Any], make_execution: Callable[..., Any]
) -> None:
    row = make_execution(created_by=people["alice"])
    page = open_page(
        people["alice"], path="/tasks/executions/", timezone_id="Asia/Kolkata", locale="en-GB"
    )
    cell = page.locator(f'tr[data-execution-id="{row.pk}"] [data-field=created_at]')
    local = row.created_at.astimezone(zoneinfo.ZoneInfo("Asia/Kolkata"))
    text = cell.locator("time").inner_text()
    assert local.strftime("%H:%M:%S") in text  # the reader's zone, not the server's (Berlin)
    assert re.search(r"now|second", cell.locator(".age").inner_text())


def test_a_filter_narrows_the_table(
    open_page: Callable[..., Any],
    people: dict[str, Any],
    make_execution: Callable[..., Any],
    allow_console_error: Callable[[str], None],
) -> None:
    allow_console_error(r"status of 400")  # the page answering the bad filter below
    rows = _sample_rows(make_execution, people["alice"])
    page = open_page(people["alice"], path="/tasks/executions/")
    assert set(_rows(page)) == {row.pk for row in rows.values()}

    page.get_by_role("checkbox", name="FAILURE").check()
    page.get_by_role("checkbox", name="STARTED").check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"status=STARTED"))
    assert set(_rows(page)) == {rows["failed"].pk, rows["running"].pk}

    page.get_by_label("Module").fill("sync")
    page.get_by_label("Module").press("Enter")
    page.wait_for_url(re.compile(r"module=sync"))
    assert _rows(page) == [rows["failed"].pk]
    assert "status=FAILURE" in page.url  # the filters stay in the URL
    page.get_by_role("link", name=f"#{rows['failed'].pk}").click()
    page.get_by_role("link", name="← Executions").click()
    assert _rows(page) == [rows["failed"].pk]  # and come back with the detail's link

    page.get_by_label("Metadata contains (JSON)").fill("{not json")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state()
    assert page.locator("#error-metadata").is_visible()


def test_a_new_execution_appears_without_reload_for_its_owner_only(
    open_page: Callable[..., Any], people: dict[str, Any], make_execution: Callable[..., Any]
) -> None:
    make_execution(created_by=people["alice"])
    alice = open_page(people["alice"], path="/tasks/executions/")
    bob = open_page(people["bob"], path="/tasks/executions/")
    for page in (alice, bob):
        page.evaluate("window.notReloaded = true")

    bobs = make_execution(created_by=people["bob"], task_name="tests.bob_secret")
    fresh = make_execution(created_by=people["alice"], task_name="tests.fresh")
    alice.locator(f'tr[data-execution-id="{fresh.pk}"]').wait_for()
    bob.locator(f'tr[data-execution-id="{bobs.pk}"]').wait_for()
    assert alice.evaluate("window.notReloaded") is True
    assert bobs.pk not in _rows(alice)
    assert "tests.bob_secret" not in alice.content()
    assert fresh.pk not in _rows(bob)

    row = alice.locator(f'tr[data-execution-id="{fresh.pk}"]')
    assert row.locator("[data-field=task_name]").inner_text() == "tests.fresh"
    assert row.locator("[data-field=status]").inner_text() == "PENDING"
    update_task_status(fresh.task_id, "STARTED")
    row.locator("[data-field=status]", has_text="STARTED").wait_for()
    row.locator("a").click()
    alice.wait_for_url(f"**/tasks/executions/{fresh.pk}/")


def test_a_progress_bar_moves_while_a_real_worker_reports(
    open_page: Callable[..., Any],
    people: dict[str, Any],
    browser_worker: Any,
    wait_for_row: Callable[[str], TaskExecution],
) -> None:
    key = f"browser-steps-{time.monotonic_ns()}"
    task_id = tracked_steps.delay(key, 4).id
    row = wait_for_row(task_id)
    overview = open_page(people["staff"], path="/tasks/")
    detail = open_page(people["staff"], path=f"/tasks/executions/{row.pk}/")
    running = overview.locator(f'tr[data-execution-id="{row.pk}"] [role=progressbar]')
    bar = detail.locator(".headline [role=progressbar]")
    for step, percent in ((1, "25"), (2, "50"), (3, "75")):
        release(f"{key}:{step}")
        detail.locator(f'.headline [role=progressbar][aria-valuenow="{percent}"]').wait_for()
        assert bar.inner_text().strip() == f"{percent}%"
        assert detail.locator(".headline [data-field=progress_message]").inner_text() == (
            f"step {step} of 4"
        )
        overview.locator(
            f'tr[data-execution-id="{row.pk}"] [role=progressbar][aria-valuenow="{percent}"]'
        ).wait_for()
    assert running.count() == 1
    release(f"{key}:4")
    detail.locator(".headline [data-field=status]", has_text="SUCCESS").wait_for()
    assert detail.locator("[data-finished-notice]").is_visible()
    overview.locator(f'tr[data-execution-id="{row.pk}"]').wait_for(state="detached")


def test_another_users_execution_is_a_404_page_on_every_page(
    open_page: Callable[..., Any],
    people: dict[str, Any],
    make_execution: Callable[..., Any],
    allow_console_error: Callable[[str], None],
) -> None:
    allow_console_error(NOT_FOUND)  # Chromium logs the 404 document itself
    alices = _sample_rows(make_execution, people["alice"])
    bobs = make_execution(created_by=people["bob"], task_name="tests.bob_secret")
    update_task_status(bobs.task_id, "STARTED")
    page = open_page(people["alice"])
    for path in ("/tasks/", "/tasks/executions/", "/tasks/executions/?status=STARTED"):
        page.goto(path)
        assert "tests.bob_secret" not in page.content(), path
        assert bobs.pk not in _rows(page)
    response = page.goto(f"/tasks/executions/{bobs.pk}/")
    assert response.status == 404
    assert page.get_by_role("heading", name="No such execution").is_visible()
    assert "tests.bob_secret" not in page.content()

    page = open_page(people["bob"], path=f"/tasks/executions/{alices['failed'].pk}/")
    assert page.get_by_role("heading", name="No such execution").is_visible()
    page.goto("/tasks/")
    assert _rows(page) == [bobs.pk]


def test_a_read_only_user_sees_no_operator_buttons(
    open_page: Callable[..., Any], people: dict[str, Any], make_execution: Callable[..., Any]
) -> None:
    row = make_execution(created_by=people["alice"])
    page = open_page(people["alice"], path=f"/tasks/executions/{row.pk}/")
    assert page.get_by_role("button", name=re.compile("Revoke|Terminate|Retry")).count() == 0


def test_pages_read_without_javascript(
    open_page: Callable[..., Any], people: dict[str, Any], make_execution: Callable[..., Any]
) -> None:
    rows = _sample_rows(make_execution, people["alice"])
    page = open_page(people["alice"], path="/tasks/executions/", java_script_enabled=False)
    assert set(_rows(page)) == {row.pk for row in rows.values()}
    page.goto(f"/tasks/executions/{rows['failed'].pk}/")
    traceback = page.locator("#field-traceback").inner_text()
    assert "ConnectionError: feed.example unreachable" in traceback
    assert page.get_by_role("button", name="Copy traceback").count() == 0  # needs the script


def test_copy_buttons_and_keyboard_reach(
    open_page: Callable[..., Any], people: dict[str, Any], make_execution: Callable[..., Any]
) -> None:
    rows = _sample_rows(make_execution, people["alice"])
    page = open_page(
        people["alice"],
        path=f"/tasks/executions/{rows['done'].pk}/",
        permissions=["clipboard-read", "clipboard-write"],
    )
    page.get_by_role("button", name="Copy keyword arguments").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert '"report": "monthly"' in copied

    page.goto("/tasks/executions/")
    reached = set()
    for _ in range(30):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate("(el => el.name || el.textContent.trim())(document.activeElement)")
        )
    assert {"Skip to content", "Overview", "Executions", "status", "Apply filters"} <= reached
    assert f"#{rows['done'].pk}" in reached  # the rows' links too


MARKUP = '<img src="x" data-injected onerror="window.injected = 1"><b data-injected>bold</b>'
"""User data that a page interpolating it as HTML would turn into elements (and a handler)."""


def test_user_data_with_markup_in_it_is_shown_as_text_on_every_page(
    open_page: Callable[..., Any], people: dict[str, Any], make_execution: Callable[..., Any]
) -> None:
    # Task names, modules, messages, errors, tracebacks and JSON come from task code and its
    # callers: whatever they hold, the pages and the live rows show it as text. The strict
    # CSP would block an injected handler anyway, so the test looks for injected elements.
    row = make_execution(
        created_by=people["alice"],
        task_name=f"tests.{MARKUP}",
        module=MARKUP,
        task_kwargs={MARKUP: MARKUP},
        metadata={"note": MARKUP},
    )
    update_task_status(row.task_id, "STARTED")
    update_progress(row.task_id, 30, MARKUP)
    page = open_page(people["alice"], path="/tasks/executions/")
    live = make_execution(created_by=people["alice"], task_name=f"tests.live.{MARKUP}")
    update_task_status(live.task_id, "STARTED")
    update_progress(live.task_id, 10, MARKUP)
    live_row = page.locator(f'tr[data-execution-id="{live.pk}"]')
    live_row.locator("[data-field=progress_message]", has_text="onerror").wait_for()
    assert live_row.locator("[data-field=task_name]").inner_text() == f"tests.live.{MARKUP}"
    assert page.locator("[data-injected]").count() == 0

    detail = open_page(people["alice"], path=f"/tasks/executions/{row.pk}/")
    update_task_status(row.task_id, "FAILURE", error=MARKUP, traceback=f"Traceback\n{MARKUP}")
    detail.locator(".headline [data-field=status]", has_text="FAILURE").wait_for()
    detail.reload()
    for view in (detail, open_page(people["alice"], path="/tasks/")):
        assert view.locator("[data-injected]").count() == 0
        assert view.evaluate("window.injected") is None
    assert detail.locator("h1 .task-name").inner_text() == f"tests.{MARKUP}"
    assert MARKUP in detail.locator("#field-traceback").inner_text()
    assert MARKUP in detail.locator("#field-error").inner_text()
    assert f'"note": {json.dumps(MARKUP)}' in detail.locator("#field-metadata").inner_text()
    assert MARKUP in detail.locator(".headline [data-field=progress_message]").inner_text()
