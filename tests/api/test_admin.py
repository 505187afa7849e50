"""The Django admin for executions: read-only pages, lean queries, and the two repair actions."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from agentcore_task.models import TaskExecution
from agentcore_task.services.tracker import TaskTracker
from agentcore_task.status import TaskStatus

CHANGELIST = "/admin/agentcore_task/taskexecution/"


def change_url(row: TaskExecution) -> str:
    return f"{CHANGELIST}{row.pk}/change/"


@pytest.fixture
def superuser(make_user: Callable[..., Any]) -> Any:
    return make_user(username="root", is_staff=True, is_superuser=True, password=None)


@pytest.fixture
def operator_client(superuser: Any) -> Client:
    """Return a test client logged in as a superuser."""
    client = Client()
    client.force_login(superuser)
    return client


def page(response: Any) -> str:
    return html.unescape(response.content.decode())


def run_action(client: Client, action: str, rows: list[TaskExecution]) -> Any:
    data = {"action": action, "_selected_action": [str(row.pk) for row in rows]}
    return client.post(CHANGELIST, data, follow=True)


def test_change_list_shows_progress_and_a_dash_without_it(operator_client, make_execution):
    busy = make_execution(task_name="feeds.import_feed", initial_status=TaskStatus.STARTED)
    TaskTracker.update_progress(busy.task_id, percent=30, message="Parsing…", step="interpret")
    make_execution(task_name="feeds.quiet_task")

    response = operator_client.get(CHANGELIST)

    assert response.status_code == 200
    text = page(response)
    assert "interpret: Parsing… (30%)" in text
    assert "feeds.quiet_task" in text
    assert re.search(r'<td class="field-progress">—</td>', text)


def test_change_list_shows_partial_progress(operator_client, make_execution):
    row = make_execution()
    TaskTracker.update_progress(row.task_id, percent=5)

    assert "5%" in page(operator_client.get(CHANGELIST))


def test_search_by_exact_task_id_finds_only_that_row(operator_client, make_execution):
    wanted = make_execution(task_id="celery-abc-123")
    make_execution(task_id="celery-abc-1234")  # an exact id wins over substring matches

    text = page(operator_client.get(CHANGELIST, {"q": "celery-abc-123"}))

    assert wanted.task_id in text
    assert "celery-abc-1234" not in text


def test_search_by_part_of_a_task_name_or_id(operator_client, make_execution):
    make_execution(task_name="billing.tasks.send_invoice", task_id="inv-1")
    make_execution(task_name="feeds.tasks.import_feed", task_id="feed-1")

    by_name = page(operator_client.get(CHANGELIST, {"q": "send_inv"}))
    by_id_part = page(operator_client.get(CHANGELIST, {"q": "feed-"}))

    assert "inv-1" in by_name
    assert "feed-1" not in by_name
    assert "feed-1" in by_id_part
    assert "inv-1" not in by_id_part


def test_filter_by_status(operator_client, make_execution):
    running = make_execution(initial_status=TaskStatus.STARTED)
    waiting = make_execution()

    text = page(operator_client.get(CHANGELIST, {"status__exact": TaskStatus.STARTED}))

    assert running.task_id in text
    assert waiting.task_id not in text


def test_detail_page_shows_escaped_pretty_json_and_no_save_button(operator_client, make_execution):
    row = make_execution(task_kwargs={"feed_id": 7, "note": "<b>bold</b>"}, task_args=[1, 2])
    TaskTracker.update_task_status(
        row.task_id,
        TaskStatus.FAILURE,
        result={"count": 17},
        error="ValueError: bad entry",
        traceback='Traceback (most recent call last):\n  File "x.py", line 1',
    )

    response = operator_client.get(change_url(row))

    assert response.status_code == 200
    raw = response.content.decode()
    assert "<b>bold</b>" not in raw
    assert "&lt;b&gt;bold&lt;/b&gt;" in raw
    text = page(response)
    assert '<pre>{\n  "feed_id": 7,\n  "note": "<b>bold</b>"\n}</pre>' in text
    assert '<pre>{\n  "count": 17\n}</pre>' in text
    assert "<pre>[\n  1,\n  2\n]</pre>" in text
    assert '<pre>Traceback (most recent call last):\n  File "x.py", line 1</pre>' in text
    assert 'name="_save"' not in raw
    assert 'name="_continue"' not in raw


def test_post_to_the_detail_page_is_refused(operator_client, make_execution):
    row = make_execution(task_name="feeds.import_feed")

    response = operator_client.post(
        change_url(row), {"task_name": "edited", "status": TaskStatus.SUCCESS}
    )

    assert response.status_code == 403
    stored = TaskExecution.objects.get(pk=row.pk)
    assert (stored.task_name, stored.status) == ("feeds.import_feed", TaskStatus.PENDING)


def test_add_page_is_forbidden(operator_client, db):
    assert operator_client.get(f"{CHANGELIST}add/").status_code == 403
    assert operator_client.post(f"{CHANGELIST}add/", {"task_id": "x"}).status_code == 403
    assert not TaskExecution.objects.exists()


def test_sync_action_rereads_each_selected_row(operator_client, make_execution):
    rows = [make_execution(), make_execution()]

    response = run_action(operator_client, "sync_from_celery", rows)

    assert response.status_code == 200
    assert "Re-read 2 executions from Celery." in page(response)


def test_mark_stuck_failed_marks_only_unfinished_rows(operator_client, superuser, make_execution):
    pending = make_execution()
    started = make_execution(initial_status=TaskStatus.STARTED)
    retrying = make_execution(initial_status=TaskStatus.STARTED)
    TaskTracker.update_task_status(retrying.task_id, TaskStatus.RETRY)
    done = make_execution(initial_status=TaskStatus.STARTED)
    TaskTracker.update_task_status(done.task_id, TaskStatus.SUCCESS, result={"ok": True})
    untouched = make_execution()  # not selected

    response = run_action(operator_client, "mark_stuck_failed", [pending, started, retrying, done])

    assert "Marked 3 executions FAILURE; left 1 finished execution alone." in page(response)
    for row in (pending, started, retrying):
        stored = TaskExecution.objects.get(pk=row.pk)
        assert stored.status == TaskStatus.FAILURE
        assert stored.error == "Marked failed by root from the admin"
        assert stored.finished_at is not None
    finished = TaskExecution.objects.get(pk=done.pk)
    assert (finished.status, finished.error, finished.result) == (
        TaskStatus.SUCCESS,
        None,
        {"ok": True},
    )
    assert TaskExecution.objects.get(pk=untouched.pk).status == TaskStatus.PENDING
    assert LogEntry.objects.filter(user=superuser).count() == 3


def test_view_only_staff_may_sync_but_not_mark_failed_or_delete(make_user, make_execution):
    viewer = make_user(is_staff=True, password=None)
    viewer.user_permissions.add(Permission.objects.get(codename="view_taskexecution"))
    client = Client()
    client.force_login(viewer)
    row = make_execution()

    listing = client.get(CHANGELIST)
    detail = client.get(change_url(row))
    marked = run_action(client, "mark_stuck_failed", [row])

    assert listing.status_code == 200
    actions = listing.context["action_form"].fields["action"].choices
    assert [name for name, _ in actions if name] == ["sync_from_celery"]
    assert detail.status_code == 200
    assert marked.status_code == 200
    assert TaskExecution.objects.get(pk=row.pk).status == TaskStatus.PENDING


def test_non_staff_user_is_sent_to_the_login_page(make_user, make_execution):
    client = Client()
    client.force_login(make_user(password=None))
    row = make_execution()

    for url in (CHANGELIST, change_url(row)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_change_list_query_count_does_not_grow_with_rows(
    operator_client, make_user, make_execution
):
    users = [make_user(password=None) for _ in range(3)]

    def count_queries(total: int) -> int:
        while TaskExecution.objects.count() < total:
            number = TaskExecution.objects.count()
            row = make_execution(created_by=users[number % 3], module=f"m{number % 4}")
            TaskTracker.update_progress(row.task_id, percent=number % 101, step="s")
        with CaptureQueriesContext(connection) as captured:
            response = operator_client.get(CHANGELIST)
        assert response.status_code == 200
        assert page(response).count('class="field-progress"') == total
        return len(captured)

    assert count_queries(3) == count_queries(30)


def test_change_list_does_not_load_the_payload_columns(operator_client, make_execution):
    make_execution(task_kwargs={"big": "x" * 1000}, metadata={"progress_step": "load"})

    with CaptureQueriesContext(connection) as captured:
        response = operator_client.get(CHANGELIST)

    assert "load" in page(response)
    row_queries = [
        q["sql"] for q in captured if '"agentcore_task_execution"."task_name"' in q["sql"]
    ]
    assert row_queries
    for sql in row_queries:
        select_list = sql.split(" FROM ", 1)[0]
        for column in ("task_args", "task_kwargs", "result", "error", "traceback"):
            assert f'"agentcore_task_execution"."{column}"' not in select_list
        assert '"agentcore_task_execution"."metadata",' not in select_list


# The admin case also runs the system checks, which validate the ModelAdmin (admin.E*). The
# case without the admin app cannot: the test URLconf mounts admin.site.
BOOT = (
    "import django; django.setup();"
    "import agentcore_task.admin;"
    "from django.apps import apps;"
    "from django.core.management import call_command;"
    "from agentcore_task.models import TaskExecution;"
    "installed = apps.is_installed('django.contrib.admin');"
    "print('ADMIN', installed);"
    "from django.contrib import admin;"
    "installed and print('REGISTERED', admin.site.is_registered(TaskExecution));"
    "installed and call_command('check')"
)


def boot(apps: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.compat.boot_settings", BOOT_APPS=apps)
    env["BOOT_ENGINE"] = ""
    return subprocess.run(
        [sys.executable, "-c", BOOT], capture_output=True, text=True, env=env, timeout=120
    )


def test_admin_module_imports_without_the_admin_app():
    result = boot("pgtrigger,agentcore_task")

    assert result.returncode == 0, result.stderr
    assert "ADMIN False" in result.stdout


def test_admin_registers_under_either_installed_apps_spelling():
    admin_apps = "django.contrib.sessions,django.contrib.messages,django.contrib.admin"
    result = boot(f"{admin_apps},pgtrigger,agentcore_task.adapters.django")

    assert result.returncode == 0, result.stderr
    assert "REGISTERED True" in result.stdout


def test_revoke_and_retry_need_the_operate_permission_in_the_admin(make_user, make_execution):
    staff = make_user(is_staff=True, password=None)
    staff.user_permissions.add(Permission.objects.get(codename="view_taskexecution"))
    client = Client()
    client.force_login(staff)
    row = make_execution()

    names = [
        name for name, _ in client.get(CHANGELIST).context["action_form"].fields["action"].choices
    ]
    assert "revoke_selected" not in names and "retry_selected" not in names
    run_action(client, "revoke_selected", [row])
    assert TaskExecution.objects.get(pk=row.pk).status == TaskStatus.PENDING


def test_the_admin_revokes_and_retries_with_one_audit_row_each(operator_client, make_execution):
    from agentcore_task.models import TaskAction

    pending, failed = make_execution(), make_execution(task_name="tests.plain.add")
    TaskTracker.update_task_status(failed.task_id, TaskStatus.FAILURE, error="x")

    revoked = run_action(operator_client, "revoke_selected", [pending, failed])
    retried = run_action(operator_client, "retry_selected", [failed])

    assert "Revoked: 1, already finished: 1" in page(revoked)
    assert "Retried: 1, not finished: 0" in page(retried)
    assert TaskExecution.objects.get(pk=pending.pk).status == TaskStatus.REVOKED
    assert TaskExecution.objects.filter(retry_of=failed).count() == 1
    assert [a.action for a in TaskAction.objects.order_by("id")] == ["bulk_revoke", "bulk_retry"]
    assert operator_client.get("/admin/agentcore_task/taskaction/").status_code == 200
    detail = page(operator_client.get(change_url(pending)))
    assert "Status history" in detail and '"status": "REVOKED"' in detail
