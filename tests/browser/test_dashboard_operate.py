"""The operator's side of the dashboard in a real Chromium: retry, revoke, bulk, locks.

``operator`` is staff; ``oscar`` holds only the operate permission (his own rows); ``alice``
and ``bob`` are read-only. Every click goes through the page's confirmation (a browser
dialog, accepted or dismissed here) and the real services; axe-core checks each new page.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from agentcore_task import acquire_task_lock, release_task_lock
from agentcore_task.models import TaskExecution
from agentcore_task.services.operate import retry_execution, revoke_execution
from agentcore_task.services.writes import update_progress, update_task_status
from tests.lock_workers import fresh_lock_sessions  # noqa: F401  (autouse fixture)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BUTTONS = re.compile(r"^(Revoke|Terminate|Retry|Release|Count first)")


@pytest.fixture
def people(make_user: Callable[..., Any]) -> dict[str, Any]:
    oscar = make_user(username="oscar")
    oscar.user_permissions.add(Permission.objects.get(codename="operate_taskexecution"))
    return {
        "alice": make_user(username="alice"),
        "bob": make_user(username="bob"),
        "oscar": oscar,
        "operator": make_user(username="operator", is_staff=True),
    }


@pytest.fixture
def held_lock() -> Iterator[str]:
    name = f"reports:monthly:{uuid.uuid4().hex[:8]}"
    assert acquire_task_lock(name, timeout=600)
    yield name
    release_task_lock(name, force=True)


def _failed(make_execution: Callable[..., Any], user: Any, **fields: Any) -> TaskExecution:
    row = make_execution(
        created_by=user, task_name="tests.plain.add", module="tests", task_args=[1, 2], **fields
    )
    update_task_status(row.task_id, "STARTED")
    update_task_status(row.task_id, "FAILURE", error="ValueError: the feed was empty")
    return row


def _status(row: TaskExecution) -> str:
    return str(TaskExecution.objects.get(pk=row.pk).status)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_operators_pages_are_clean_and_accessible(
    open_page: Callable[..., Any],
    people: dict[str, Any],
    make_execution: Callable[..., Any],
    held_lock: str,
    check_accessibility: Callable[[Any], Any],
    screenshot: Callable[[Any, str], None],
    scheme: str,
) -> None:
    operator = people["operator"]
    failed = _failed(make_execution, operator)
    retry = retry_execution(failed, actor=operator, reason="the feed is back", source="admin")
    running = make_execution(created_by=operator, task_name="billing.tasks.charge_cards")
    update_task_status(running.task_id, "STARTED")
    update_progress(running.task_id, 40, "Charged 400 of 1,000 cards")
    stale = make_execution(created_by=operator, task_name="reports.tasks.send_digest")
    revoke_execution(stale, actor=operator, reason="superseded", source="api")
    page = open_page(operator, color_scheme=scheme, locale="en-GB")
    for path, name in (
        (f"/tasks/executions/{failed.pk}/", "execution-operator"),
        (f"/tasks/executions/{retry.pk}/", None),
        (f"/tasks/executions/{running.pk}/", None),
        ("/tasks/executions/", "executions-bulk"),
        ("/tasks/locks/", "locks"),
        ("/tasks/actions/", "actions"),
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        check_accessibility(page)
        if scheme == "light" and name:
            screenshot(page, f"dashboard-{name}")
    page.goto("/tasks/executions/?task_name=reports.tasks.send_digest")
    page.get_by_label("All 1 matching this filter").check()
    page.get_by_role("button", name="Count first…").click()
    page.get_by_role("heading", name="Revoke 1 execution?").wait_for()
    check_accessibility(page)
    if scheme == "light":
        screenshot(page, "dashboard-bulk-confirm")


def test_retry_creates_the_linked_row_and_the_page_shows_it(
    open_page: Callable[..., Any], people: dict[str, Any], make_execution: Callable[..., Any]
) -> None:
    failed = _failed(make_execution, people["oscar"])
    page = open_page(people["oscar"], path=f"/tasks/executions/{failed.pk}/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Retry").click()
    assert not TaskExecution.objects.filter(retry_of=failed).exists()  # dismissed: nothing
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Retry").click()
    page.locator(".message-success").wait_for()
    new = TaskExecution.objects.get(retry_of=failed)
    assert page.locator(".message-success").inner_text() == (
        f"Execution #{failed.pk} retried as execution #{new.pk}."
    )
    page.get_by_role("link", name=f"#{new.pk}").click()
    page.wait_for_url(f"**/tasks/executions/{new.pk}/")
    assert page.get_by_text(f"Retry of #{failed.pk}").is_visible()
    assert page.get_by_role("button", name="Revoke").is_visible()  # the new row is unfinished


def test_revoke_and_terminate_show_revoked(
    open_page: Callable[..., Any], people: dict[str, Any], make_execution: Callable[..., Any]
) -> None:
    pending = make_execution(created_by=people["oscar"], task_name="tests.plain.add")
    running = make_execution(created_by=people["oscar"], task_name="tests.plain.add")
    update_task_status(running.task_id, "STARTED")
    page = open_page(people["oscar"], path=f"/tasks/executions/{pending.pk}/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Revoke").click()
    assert _status(pending) == "PENDING"
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    page.locator(".message-success").wait_for()
    assert page.locator(".headline [data-field=status]").inner_text() == "REVOKED"
    assert page.get_by_role("button", name=BUTTONS).count() == 1  # now only Retry
    page.goto(f"/tasks/executions/{running.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Terminate").click()
    page.locator(".message-success", has_text="terminated").wait_for()
    assert page.locator(".headline [data-field=status]").inner_text() == "REVOKED"
    assert _status(running) == "REVOKED"


def test_bulk_shows_the_dry_run_count_then_the_real_runs_counts(
    open_page: Callable[..., Any], people: dict[str, Any], make_execution: Callable[..., Any]
) -> None:
    oscar = people["oscar"]
    rows = [make_execution(created_by=oscar, task_name="tests.bulk.pick") for _ in range(3)]
    others = make_execution(created_by=people["bob"], task_name="tests.bulk.pick")
    page = open_page(oscar, path="/tasks/executions/?task_name=tests.bulk.pick")
    assert page.get_by_label("All 3 matching this filter").count() == 1  # not bob's row
    page.get_by_label(f"Select execution {rows[0].pk}").check()
    page.get_by_label(f"Select execution {rows[2].pk}").check()
    page.get_by_role("button", name="Count first…").click()
    page.get_by_role("heading", name="Revoke 2 executions?").wait_for()
    assert page.locator("[data-dry-run-count]").get_attribute("data-dry-run-count") == "2"
    assert [_status(row) for row in rows] == ["PENDING"] * 3  # a dry run changes nothing
    page.get_by_role("button", name="Revoke 2 executions").click()
    message = page.locator(".message-success")
    message.wait_for()
    assert message.inner_text() == "Revoke: 2 matched, revoked: 2, already finished: 0."
    assert "task_name=tests.bulk.pick" in page.url  # back to the same filter
    assert [_status(row) for row in rows] == ["REVOKED", "PENDING", "REVOKED"]

    page.get_by_label("Select every row on this page").check()
    page.get_by_role("button", name="Count first…").click()
    page.get_by_role("heading", name="Revoke 3 executions?").wait_for()  # the page's 3 rows
    page.get_by_role("link", name="Cancel").click()
    page.get_by_label("All 3 matching this filter").check()
    page.get_by_role("button", name="Count first…").click()
    page.get_by_role("heading", name="Revoke 3 executions?").wait_for()
    page.get_by_role("button", name="Revoke 3 executions").click()
    page.locator(".message-success", has_text="revoked: 1, already finished: 2").wait_for()
    assert _status(rows[1]) == "REVOKED"
    assert _status(others) == "PENDING"  # outside oscar's scope


def test_a_lock_is_released_from_the_locks_page(
    open_page: Callable[..., Any], people: dict[str, Any], held_lock: str
) -> None:
    page = open_page(people["operator"], path="/tasks/locks/")
    row = page.locator(f'tr[data-lock="{held_lock}"]')
    assert row.locator("td").nth(1).inner_text() == "cache"
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Release lock {held_lock}").click()
    page.locator(".message-success", has_text="released").wait_for()
    assert row.count() == 0
    page.goto("/tasks/actions/")
    assert page.locator("tbody tr").first.locator("td").nth(2).inner_text() == "lock_release"


def test_a_read_only_user_sees_no_buttons_on_any_page(
    open_page: Callable[..., Any],
    people: dict[str, Any],
    make_execution: Callable[..., Any],
    allow_console_error: Callable[[str], None],
) -> None:
    allow_console_error(r"status of 403")  # the refused pages themselves
    alice = people["alice"]
    failed = _failed(make_execution, alice)
    pending = make_execution(created_by=alice)
    page = open_page(alice)
    for path in (
        "/tasks/",
        "/tasks/executions/",
        f"/tasks/executions/{failed.pk}/",
        f"/tasks/executions/{pending.pk}/",
        "/tasks/?window=week",
    ):
        page.goto(path)
        assert page.get_by_role("button", name=BUTTONS).count() == 0, path
        assert page.locator("input[name=ids]").count() == 0, path
        assert page.get_by_role("link", name=re.compile("^(Locks|Actions)$")).count() == 0
    for path in ("/tasks/locks/", "/tasks/actions/"):
        assert page.goto(path).status == 403
        assert page.get_by_role("heading", name="Not allowed").is_visible()
        assert page.get_by_role("button", name=BUTTONS).count() == 0


def test_another_users_row_is_a_404_for_an_operator_on_every_page(
    open_page: Callable[..., Any],
    people: dict[str, Any],
    make_execution: Callable[..., Any],
    allow_console_error: Callable[[str], None],
) -> None:
    allow_console_error(r"status of 40[34]")
    bobs = _failed(make_execution, people["bob"], metadata={"secret": "bob"})
    mine = _failed(make_execution, people["oscar"])
    page = open_page(people["oscar"])
    for path in ("/tasks/", "/tasks/executions/", f"/tasks/executions/{mine.pk}/"):
        page.goto(path)
        assert f'data-execution-id="{bobs.pk}"' not in page.content(), path
    assert page.goto(f"/tasks/executions/{bobs.pk}/").status == 404
    assert page.get_by_role("heading", name="No such execution").is_visible()
    assert page.get_by_role("button", name=BUTTONS).count() == 0
    page.goto("/tasks/executions/")
    assert page.get_by_label("All 1 matching this filter").count() == 1  # bob's not counted
    assert page.goto("/tasks/actions/").status == 403  # the trail needs view_taskaction
