"""The operator's side of the pages: buttons, posts, bulk, locks, the audit trail.

``oscar`` holds ``agentcore_task.operate_taskexecution`` (and sees only his own rows), ``bob``
is read-only, staff may do everything. Every post goes through the real services (rows,
audit rows, the broker's revoke), and the refusals are the 403 and 404 pages.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from agentcore_task import acquire_task_lock, release_task_lock
from agentcore_task.models import TaskAction, TaskExecution
from agentcore_task.services.writes import update_task_status
from agentcore_task.status import TaskStatus
from tests.lock_workers import fresh_lock_sessions  # noqa: F401  (autouse fixture)

DETAIL = "/tasks/executions/{}/"


@pytest.fixture
def oscar(make_user: Any) -> Any:
    user = make_user(username="oscar")
    user.user_permissions.add(Permission.objects.get(codename="operate_taskexecution"))
    return user


@pytest.fixture
def pending(make_execution: Any, oscar: Any) -> Any:
    return make_execution(task_name="tests.plain.add", created_by=oscar, task_args=[1, 2])


@pytest.fixture
def failed(make_execution: Any, oscar: Any) -> Any:
    row = make_execution(task_name="tests.plain.add", created_by=oscar, task_args=[1, 2])
    update_task_status(row.task_id, TaskStatus.FAILURE, error="boom")
    return row


def _status(row: Any) -> str:
    return str(TaskExecution.objects.get(pk=row.pk).status)


def _messages(response: Any) -> list[str]:
    return re.findall(r'<li class="message message-\w+">([^<]*)</li>', response.content.decode())


def test_operators_see_the_buttons_the_rows_state_allows(
    login: Any, oscar: Any, pending: Any, failed: Any
) -> None:
    client = login(oscar)
    unfinished = client.get(DETAIL.format(pending.pk)).content.decode()
    assert f'action="/tasks/executions/{pending.pk}/revoke/"' in unfinished
    assert 'name="terminate" value="1"' in unfinished
    assert "/retry/" not in unfinished
    assert unfinished.count('name="csrfmiddlewaretoken"') == 2
    finished = client.get(DETAIL.format(failed.pk)).content.decode()
    assert f'action="/tasks/executions/{failed.pk}/retry/"' in finished
    assert "/revoke/" not in finished


def test_revoke_from_the_page_writes_revoked_and_audits_the_dashboard(
    login: Any, oscar: Any, pending: Any
) -> None:
    response = login(oscar).post(f"/tasks/executions/{pending.pk}/revoke/", follow=True)
    assert response.redirect_chain == [(DETAIL.format(pending.pk), 302)]
    assert _status(pending) == "REVOKED"
    assert _messages(response) == [f"Execution #{pending.pk} revoked: it is REVOKED."]
    audit = TaskAction.objects.get()
    assert (audit.action, audit.source, audit.actor) == ("revoke", "dashboard", oscar)
    assert audit.target == {"executions": [pending.pk], "terminate": False}


def test_terminate_is_revoke_with_terminate(login: Any, oscar: Any, pending: Any) -> None:
    response = login(oscar).post(
        f"/tasks/executions/{pending.pk}/revoke/", {"terminate": "1"}, follow=True
    )
    assert _status(pending) == "REVOKED"
    assert _messages(response) == [f"Execution #{pending.pk} terminated: it is REVOKED."]
    assert TaskAction.objects.get().target["terminate"] is True


def test_revoking_a_finished_row_says_why_and_changes_nothing(
    login: Any, oscar: Any, failed: Any
) -> None:
    response = login(oscar).post(f"/tasks/executions/{failed.pk}/revoke/", follow=True)
    assert _status(failed) == "FAILURE"
    (message,) = _messages(response)
    assert "already finished" in message
    assert not TaskAction.objects.exists()


def test_retry_creates_the_linked_row_and_the_page_shows_the_chain(
    login: Any, oscar: Any, failed: Any
) -> None:
    client = login(oscar)
    response = client.post(f"/tasks/executions/{failed.pk}/retry/", follow=True)
    new = TaskExecution.objects.get(retry_of=failed)
    assert (new.task_args, new.created_by_id) == ([1, 2], oscar.pk)
    assert _messages(response) == [f"Execution #{failed.pk} retried as execution #{new.pk}."]
    page = response.content.decode()
    assert f'Retried as <a href="/tasks/executions/{new.pk}/">#{new.pk}</a>' in page
    again = client.get(DETAIL.format(new.pk)).content.decode()
    assert f'Retry of <a href="/tasks/executions/{failed.pk}/">#{failed.pk}</a>' in again
    assert TaskAction.objects.get().source == "dashboard"


def test_the_chain_shows_the_root_of_a_retry_of_a_retry(
    login: Any, oscar: Any, failed: Any
) -> None:
    client = login(oscar)
    client.post(f"/tasks/executions/{failed.pk}/retry/")
    second = TaskExecution.objects.get(retry_of=failed)
    update_task_status(second.task_id, TaskStatus.FAILURE, error="again")
    client.post(f"/tasks/executions/{second.pk}/retry/")
    third = TaskExecution.objects.get(retry_of=second)
    page = client.get(DETAIL.format(third.pk)).content.decode()
    assert f'First run: <a href="/tasks/executions/{failed.pk}/">' in page
    assert f'Retry of <a href="/tasks/executions/{second.pk}/">' in page


def test_read_only_users_see_no_buttons_and_the_server_refuses_them(
    login: Any, bob: Any, make_execution: Any
) -> None:
    mine = make_execution(created_by=bob)
    finished = make_execution(created_by=bob)
    update_task_status(finished.task_id, TaskStatus.FAILURE, error="x")
    client = login(bob)
    for url in (
        "/tasks/",
        "/tasks/executions/",
        DETAIL.format(mine.pk),
        DETAIL.format(finished.pk),
    ):
        page = client.get(url).content.decode()
        assert 'class="action' not in page, url
        assert "bulk-form" not in page, url
        assert 'href="/tasks/locks/"' not in page and 'href="/tasks/actions/"' not in page
    for url, data in (
        (f"/tasks/executions/{mine.pk}/revoke/", {}),
        (f"/tasks/executions/{mine.pk}/revoke/", {"terminate": "1"}),
        (f"/tasks/executions/{finished.pk}/retry/", {}),
        ("/tasks/executions/bulk/", {"action": "revoke", "scope": "ids", "ids": [mine.pk]}),
        ("/tasks/locks/release/", {"name": "anything"}),
    ):
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert b"Not allowed" in response.content
    for url in ("/tasks/locks/", "/tasks/actions/"):
        assert client.get(url).status_code == 403
    assert _status(mine) == "PENDING"
    assert not TaskExecution.objects.filter(retry_of=finished).exists()
    assert not TaskAction.objects.exists()


def test_an_operator_cannot_act_on_a_row_they_cannot_see(
    login: Any, oscar: Any, bob: Any, make_execution: Any
) -> None:
    theirs = make_execution(created_by=bob)
    response = login(oscar).post(f"/tasks/executions/{theirs.pk}/revoke/")
    assert response.status_code == 404
    assert b"No such execution" in response.content
    assert _status(theirs) == "PENDING"


def test_posts_need_post_and_a_csrf_token(oscar: Any, pending: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(oscar)
    assert client.get(f"/tasks/executions/{pending.pk}/revoke/").status_code == 405
    assert client.post(f"/tasks/executions/{pending.pk}/revoke/").status_code == 403
    assert _status(pending) == "PENDING"
    page = client.get(DETAIL.format(pending.pk)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    ok = client.post(
        f"/tasks/executions/{pending.pk}/revoke/", {"csrfmiddlewaretoken": token.group(1)}
    )
    assert ok.status_code == 302
    assert _status(pending) == "REVOKED"


def test_anonymous_posts_go_to_the_login_page(client: Any, pending: Any) -> None:
    response = client.post(f"/tasks/executions/{pending.pk}/revoke/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert _status(pending) == "PENDING"


def test_bulk_shows_the_dry_run_count_first_then_the_real_runs_counts(
    login: Any, oscar: Any, bob: Any, make_execution: Any
) -> None:
    mine = [make_execution(created_by=oscar, task_name="tests.bulk.a") for _ in range(3)]
    make_execution(created_by=oscar, task_name="tests.bulk.other")
    theirs = make_execution(created_by=bob, task_name="tests.bulk.a")
    update_task_status(mine[0].task_id, TaskStatus.FAILURE, error="done already")
    client = login(oscar)
    table = client.get("/tasks/executions/?task_name=tests.bulk.a").content.decode()
    assert 'id="bulk-form"' in table and "All 3 matching this filter" in table
    assert table.count('form="bulk-form"') == 3 + 1  # each row, and the live row template
    form = {"action": "revoke", "scope": "matching", "filters": "task_name=tests.bulk.a"}
    dry = client.post("/tasks/executions/bulk/", form)
    assert dry.status_code == 200
    assert b'data-dry-run-count="3"' in dry.content
    assert all(_status(row) == "PENDING" for row in mine[1:])
    assert not TaskAction.objects.exists()
    done = client.post("/tasks/executions/bulk/", {**form, "confirm": "1"}, follow=True)
    assert done.redirect_chain == [("/tasks/executions/?task_name=tests.bulk.a", 302)]
    assert _messages(done) == ["Revoke: 3 matched, revoked: 2, already finished: 1."]
    assert [_status(row) for row in mine] == ["FAILURE", "REVOKED", "REVOKED"]
    assert _status(theirs) == "PENDING"  # bob's: outside oscar's scope
    audit = TaskAction.objects.get()
    assert (audit.action, audit.source) == ("bulk_revoke", "dashboard")
    assert audit.target == {"filter": "task_name=tests.bulk.a"}


def test_bulk_by_selected_ids_never_touches_rows_the_user_cannot_see(
    login: Any, oscar: Any, bob: Any, make_execution: Any
) -> None:
    failed = make_execution(created_by=oscar, task_name="tests.plain.add", task_args=[1, 2])
    update_task_status(failed.task_id, TaskStatus.FAILURE, error="x")
    theirs = make_execution(created_by=bob, task_name="tests.plain.add")
    update_task_status(theirs.task_id, TaskStatus.FAILURE, error="x")
    client = login(oscar)
    form = {"action": "retry", "scope": "ids", "ids": [failed.pk, theirs.pk]}
    dry = client.post("/tasks/executions/bulk/", form).content.decode()
    assert 'data-dry-run-count="1"' in dry and "Of the 2 selected" in dry
    done = client.post("/tasks/executions/bulk/", {**form, "confirm": "1"}, follow=True)
    assert _messages(done) == [
        "Retry: 1 matched, retried: 1, not finished: 0, redacted arguments: 0, failed: 0."
    ]
    assert TaskExecution.objects.filter(retry_of=failed).count() == 1
    assert not TaskExecution.objects.filter(retry_of=theirs).exists()


def test_bulk_without_a_selection_or_with_a_bad_action_says_so(
    login: Any, oscar: Any, pending: Any
) -> None:
    client = login(oscar)
    empty = client.post(
        "/tasks/executions/bulk/", {"action": "revoke", "scope": "ids"}, follow=True
    )
    assert _messages(empty) == ["Select at least one execution, or choose all matching."]
    wrong = client.post(
        "/tasks/executions/bulk/",
        {"action": "delete", "scope": "ids", "ids": [pending.pk]},
        follow=True,
    )
    assert _messages(wrong) == ["Choose an action: revoke, retry."]
    assert _status(pending) == "PENDING"


@pytest.fixture
def held_lock() -> Iterator[str]:
    name = f"dashboard-lock-{uuid.uuid4().hex}"
    assert acquire_task_lock(name, timeout=600)
    yield name
    release_task_lock(name, force=True)


def test_the_locks_page_lists_held_locks_and_releases_one_audited(
    login: Any, oscar: Any, held_lock: str
) -> None:
    client = login(oscar)
    page = client.get("/tasks/locks/").content.decode()
    assert f'<tr data-lock="{held_lock}">' in page
    assert f'aria-label="Release lock {held_lock}"' in page
    response = client.post(
        "/tasks/locks/release/", {"name": held_lock, "backend": "cache"}, follow=True
    )
    assert response.redirect_chain == [("/tasks/locks/", 302)]
    (message,) = _messages(response)
    assert message.startswith(f"Lock &#x27;{held_lock}&#x27; released (cache")
    assert f'data-lock="{held_lock}"' not in response.content.decode()
    audit = TaskAction.objects.get()
    assert (audit.action, audit.source, audit.target["lock"]) == (
        "lock_release",
        "dashboard",
        held_lock,
    )
    again = client.post("/tasks/locks/release/", {"name": held_lock}, follow=True)
    assert "any more" in _messages(again)[0]


def test_who_sees_locks_and_the_trail_follows_the_api(
    login: Any, make_user: Any, held_lock: str
) -> None:
    viewer = make_user(username="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_all_taskexecution"))
    auditor = make_user(username="auditor")
    auditor.user_permissions.add(Permission.objects.get(codename="view_taskaction"))
    client = login(viewer)
    page = client.get("/tasks/locks/").content.decode()
    assert held_lock in page and "Release" not in page  # sees, may not release
    assert client.get("/tasks/actions/").status_code == 403
    client = login(auditor)
    assert client.get("/tasks/actions/").status_code == 200
    assert client.get("/tasks/locks/").status_code == 403


def test_the_actions_page_shows_the_trail_newest_first(
    login: Any, staff: Any, oscar: Any, pending: Any, failed: Any
) -> None:
    client = login(oscar)
    client.post(f"/tasks/executions/{pending.pk}/revoke/", {"reason": "not needed"})
    client.post(f"/tasks/executions/{failed.pk}/retry/")
    page = login(staff).get("/tasks/actions/").content.decode()
    actions = re.findall(r"<td>oscar</td>\s*<td>(\w+)</td>\s*<td>dashboard</td>", page)
    assert actions == ["retry", "revoke"]
    assert "not needed" in page
    assert f'<a href="/tasks/executions/{pending.pk}/">#{pending.pk}</a>' in page
    only = login(staff).get("/tasks/actions/?action=revoke").content.decode()
    assert re.findall(r"<td>oscar</td>\s*<td>(\w+)</td>", only) == ["revoke"]
