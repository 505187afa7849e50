"""Acting through the API: revoke, retry, bulk, locks, the audit trail, and who may do it.

Two users at least in every test: ``alice`` holds ``agentcore_task.operate_taskexecution``,
``bob`` does not (and sees only his own rows); staff may do everything.
"""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Permission
from django.db import connection

from agentcore_task import acquire_task_lock, release_task_lock
from agentcore_task.models import TaskAction, TaskExecution
from agentcore_task.services.writes import update_task_status
from agentcore_task.status import TaskStatus
from tests.api.conftest import BASE
from tests.lock_workers import fresh_lock_sessions  # noqa: F401  (autouse fixture)

ROOT = "/api/v1/tasks/"
PERMISSION = "agentcore_task.operate_taskexecution"


@pytest.fixture
def alice(make_user):
    user = make_user(username="alice")
    user.user_permissions.add(Permission.objects.get(codename="operate_taskexecution"))
    return user


@pytest.fixture
def as_alice(client_for, alice):
    return client_for(alice)


@pytest.fixture
def as_bob(client_for, bob):
    return client_for(bob)


@pytest.fixture
def as_staff(client_for, staff):
    return client_for(staff)


@pytest.fixture
def pending(make_execution, alice):
    return make_execution(task_name="tests.plain.add", created_by=alice, task_args=[1, 2])


@pytest.fixture
def failed(make_execution, alice):
    row = make_execution(task_name="tests.plain.add", created_by=alice, task_args=[1, 2])
    update_task_status(row.task_id, TaskStatus.FAILURE, error="boom")
    return row


def status_of(row):
    return TaskExecution.objects.get(pk=row.pk).status


def refused(response):
    assert response.status_code == 403, response.content
    assert PERMISSION in response.json()["detail"]
    return True


# --- revoke ---------------------------------------------------------------------------------


def test_revoke_writes_the_row_revoked_and_one_audit_row(as_alice, alice, pending):
    response = as_alice.post(BASE + f"{pending.pk}/revoke/", {"reason": "wrong input"}, "json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "REVOKED"
    assert status_of(pending) == TaskStatus.REVOKED
    (audit,) = TaskAction.objects.all()
    assert (audit.action, audit.actor, audit.reason) == ("revoke", alice, "wrong input")
    assert audit.target["executions"] == [pending.pk]


def test_revoke_without_the_permission_is_403_naming_it(as_bob, make_execution, bob):
    own = make_execution(created_by=bob)

    assert refused(as_bob.post(BASE + f"{own.pk}/revoke/", {}, "json"))
    assert status_of(own) == TaskStatus.PENDING
    assert not TaskAction.objects.exists()


def test_revoke_of_a_row_the_operator_cannot_see_is_404(as_alice, make_execution, bob):
    bobs = make_execution(created_by=bob)

    assert as_alice.post(BASE + f"{bobs.pk}/revoke/", {}, "json").status_code == 404
    assert status_of(bobs) == TaskStatus.PENDING


def test_staff_may_revoke_anyones_row(as_staff, pending):
    assert (
        as_staff.post(BASE + f"{pending.pk}/revoke/", {"terminate": True}, "json").status_code
        == 200
    )
    assert status_of(pending) == TaskStatus.REVOKED


def test_revoking_a_finished_row_is_409_saying_why(as_alice, failed):
    response = as_alice.post(BASE + f"{failed.pk}/revoke/", {}, "json")

    assert response.status_code == 409
    assert "already finished (FAILURE)" in response.json()["detail"]
    assert status_of(failed) == TaskStatus.FAILURE


def test_a_bad_revoke_body_is_400_naming_the_field(as_alice, pending):
    response = as_alice.post(BASE + f"{pending.pk}/revoke/", {"signal": "SIGNOPE"}, "json")

    assert response.status_code == 400
    assert "signal" in response.json()


# --- retry ----------------------------------------------------------------------------------


def test_retry_answers_201_with_a_new_row_linked_to_the_old_one(as_alice, failed):
    response = as_alice.post(BASE + f"{failed.pk}/retry/", {"reason": "fixed"}, "json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] != failed.pk and body["task_id"] != failed.task_id
    assert (body["retry_of"], body["retry_root"], body["status"]) == (
        failed.pk,
        failed.pk,
        "PENDING",
    )
    assert (body["task_name"], body["module"], body["task_args"]) == (
        "tests.plain.add",
        "tests",
        [1, 2],
    )
    old = as_alice.get(BASE + f"{failed.pk}/").json()
    assert old["retries"] == [body["id"]] and old["retry_of"] is None
    again = as_alice.post(BASE + f"{failed.pk}/retry/", {}, "json").json()
    assert as_alice.get(BASE + f"{failed.pk}/").json()["retries"] == [body["id"], again["id"]]
    assert TaskAction.objects.filter(action="retry").count() == 2


def test_a_retry_of_a_retry_keeps_the_root_of_the_chain(as_alice, failed):
    first = as_alice.post(BASE + f"{failed.pk}/retry/", {}, "json").json()
    row = TaskExecution.objects.get(pk=first["id"])
    update_task_status(row.task_id, TaskStatus.FAILURE, error="again")

    second = as_alice.post(BASE + f"{row.pk}/retry/", {}, "json").json()

    assert (second["retry_of"], second["retry_root"]) == (row.pk, failed.pk)


def test_retrying_an_unfinished_row_is_409(as_alice, pending):
    response = as_alice.post(BASE + f"{pending.pk}/retry/", {}, "json")

    assert response.status_code == 409
    assert "has not finished (PENDING)" in response.json()["detail"]
    assert TaskExecution.objects.count() == 1


def test_retrying_redacted_arguments_is_409_naming_the_keys(as_alice, make_execution, alice):
    row = make_execution(
        created_by=alice,
        task_kwargs={"user": "a", "password": "hunter2", "nested": {"api_token": "t"}},
    )
    update_task_status(row.task_id, TaskStatus.FAILURE, error="x")

    response = as_alice.post(BASE + f"{row.pk}/retry/", {}, "json")

    assert response.status_code == 409
    body = response.json()
    assert body["redacted_keys"] == ["kwargs.nested.api_token", "kwargs.password"]
    assert "kwargs.password" in body["detail"]
    assert TaskExecution.objects.count() == 1


def test_retry_without_the_permission_is_403(as_bob, make_execution, bob):
    own = make_execution(created_by=bob)
    update_task_status(own.task_id, TaskStatus.FAILURE, error="x")

    assert refused(as_bob.post(BASE + f"{own.pk}/retry/", {}, "json"))
    assert TaskExecution.objects.count() == 1


def test_retry_of_a_row_the_operator_cannot_see_is_404(as_alice, make_execution, bob):
    bobs = make_execution(created_by=bob)
    update_task_status(bobs.task_id, TaskStatus.FAILURE, error="x")

    assert as_alice.post(BASE + f"{bobs.pk}/retry/", {}, "json").status_code == 404


# --- bulk -----------------------------------------------------------------------------------


def failed_rows(count, user):
    """Insert ``count`` FAILURE rows of tests.plain.add for ``user`` in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO agentcore_task_execution (task_id, task_name, module, status, task_args,"
            " task_kwargs, metadata, created_by_id, queue) SELECT gen_random_uuid()::text,"
            " 'tests.plain.add', 'tests', 'FAILURE', '[1, 2]', '{}', '{}', %s, %s"
            " FROM generate_series(1, %s)",
            [user.pk, f"nobody-{uuid.uuid4().hex}", count],
        )


def test_bulk_retry_of_1200_failed_rows_acts_on_1000_and_says_so(as_alice, alice):
    failed_rows(1200, alice)
    body = {"action": "retry", "filter": {"status": "FAILURE", "task_name": "tests.plain.add"}}

    response = as_alice.post(BASE + "bulk/", body, "json")

    assert response.status_code == 200, response.content
    result = response.json()
    assert (result["matched"], result["acted_on"], result["limit"]) == (1200, 1000, 1000)
    assert result["truncated"] is True
    assert result["counts"] == {
        "retried": 1000,
        "not_finished": 0,
        "redacted_arguments": 0,
        "failed": 0,
    }
    assert TaskExecution.objects.filter(retry_of__isnull=False).count() == 1000
    (audit,) = TaskAction.objects.all()
    assert audit.action == "bulk_retry" and audit.counts["acted_on"] == 1000
    assert audit.target == {"filter": body["filter"]}


def test_a_bulk_dry_run_counts_and_changes_nothing(as_alice, alice, pending):
    failed_rows(3, alice)

    response = as_alice.post(
        BASE + "bulk/", {"action": "revoke", "filter": {}, "dry_run": True}, "json"
    )

    assert response.json()["matched"] == 4 and response.json()["acted_on"] == 0
    assert status_of(pending) == TaskStatus.PENDING
    assert TaskExecution.objects.count() == 4
    assert not TaskAction.objects.exists()


def test_bulk_revoke_by_ids_never_touches_rows_the_user_cannot_see(
    as_alice, make_execution, alice, bob, failed
):
    mine = make_execution(created_by=alice)
    bobs = make_execution(created_by=bob)

    response = as_alice.post(
        BASE + "bulk/", {"action": "revoke", "ids": [mine.pk, bobs.pk, failed.pk]}, "json"
    )

    result = response.json()
    assert (result["matched"], result["acted_on"]) == (2, 2)
    assert result["counts"] == {"revoked": 1, "already_finished": 1}
    assert (status_of(mine), status_of(bobs)) == (TaskStatus.REVOKED, TaskStatus.PENDING)


def test_bulk_filter_keeps_the_lists_scoping(as_alice, as_staff, make_execution, alice, bob):
    make_execution(created_by=alice)
    make_execution(created_by=bob)
    everyone = {"action": "revoke", "filter": {"my_tasks": "false"}, "dry_run": True}

    assert as_alice.post(BASE + "bulk/", {**everyone, "filter": {}}, "json").json()["matched"] == 1
    assert as_alice.post(BASE + "bulk/", everyone, "json").status_code == 403
    assert as_staff.post(BASE + "bulk/", everyone, "json").json()["matched"] == 2


def test_bulk_without_the_permission_is_403(as_bob, make_execution, bob):
    own = make_execution(created_by=bob)

    assert refused(as_bob.post(BASE + "bulk/", {"action": "revoke", "ids": [own.pk]}, "json"))
    assert status_of(own) == TaskStatus.PENDING


@pytest.mark.parametrize(
    "body, field",
    [
        ({"action": "delete", "ids": [1]}, "action"),
        ({"action": "revoke"}, "ids"),
        ({"action": "revoke", "ids": [1], "filter": {}}, "ids"),
        ({"action": "revoke", "filter": {"colour": "red"}}, "filter"),
        ({"action": "revoke", "filter": {"status": "LOST"}}, "filter"),
    ],
)
def test_a_bad_bulk_body_is_400_naming_the_field(as_alice, body, field):
    response = as_alice.post(BASE + "bulk/", body, "json")

    assert response.status_code == 400
    assert field in response.json()


# --- locks ----------------------------------------------------------------------------------


@pytest.fixture
def held_lock():
    name = f"api-lock-{uuid.uuid4().hex}"
    assert acquire_task_lock(name, timeout=600)
    yield name
    release_task_lock(name, force=True)


def test_locks_list_shows_a_held_lock_with_its_ttl(as_staff, held_lock):
    response = as_staff.get(ROOT + "locks/")

    assert response.status_code == 200
    (lock,) = [item for item in response.json()["locks"] if item["name"] == held_lock]
    assert lock["backend"] == "cache" and 590 < lock["ttl"] <= 600
    assert lock["holder"] is None  # not taken inside a task


def test_locks_list_needs_staff_or_a_permission(as_bob, held_lock):
    response = as_bob.get(ROOT + "locks/")

    assert response.status_code == 403
    assert PERMISSION in response.json()["detail"]


def test_lock_release_frees_it_and_is_audited(as_alice, alice, held_lock):
    response = as_alice.post(
        ROOT + "locks/release/", {"name": held_lock, "reason": "stuck"}, "json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["backend"] == "cache"
    assert as_alice.get(ROOT + "locks/").json()["locks"] == [] or all(
        lock["name"] != held_lock for lock in as_alice.get(ROOT + "locks/").json()["locks"]
    )
    (audit,) = TaskAction.objects.all()
    assert (audit.action, audit.actor, audit.target["lock"]) == ("lock_release", alice, held_lock)


def test_lock_release_of_a_free_name_is_404(as_alice):
    response = as_alice.post(ROOT + "locks/release/", {"name": "nobody-holds-this"}, "json")

    assert response.status_code == 404
    assert not TaskAction.objects.exists()


def test_lock_release_without_the_permission_is_403(as_bob, held_lock):
    assert refused(as_bob.post(ROOT + "locks/release/", {"name": held_lock}, "json"))
    assert as_bob.post(ROOT + "locks/release/", {}, "json").status_code == 403


# --- the audit trail ------------------------------------------------------------------------


def test_actions_list_the_trail_for_staff_newest_first(as_staff, as_alice, pending, failed):
    as_alice.post(BASE + f"{pending.pk}/revoke/", {}, "json")
    as_alice.post(BASE + f"{failed.pk}/retry/", {}, "json")

    body = as_staff.get(ROOT + "actions/").json()

    assert [item["action"] for item in body["results"]] == ["retry", "revoke"]
    assert body["results"][0]["actor_name"] == "alice" and body["results"][0]["source"] == "api"
    only = as_staff.get(ROOT + "actions/?action=revoke").json()["results"]
    assert [item["action"] for item in only] == ["revoke"]


def test_actions_need_staff_or_the_view_permission(as_bob, client_for, make_user):
    assert as_bob.get(ROOT + "actions/").status_code == 403
    reader = make_user(username="reader")
    reader.user_permissions.add(Permission.objects.get(codename="view_taskaction"))
    assert client_for(reader).get(ROOT + "actions/").status_code == 200


def test_a_runtime_config_change_leaves_an_audit_row(as_staff, staff):
    response = as_staff.patch(ROOT + "config/", {"retention_days": 7}, "json")

    assert response.status_code == 200
    (audit,) = TaskAction.objects.all()
    assert (audit.action, audit.actor, audit.target) == (
        "config_change",
        staff,
        {"config": {"retention_days": 7}},
    )


def test_revoke_and_retry_also_take_a_form_body(as_alice, pending, failed):
    form = {"content_type": "application/x-www-form-urlencoded"}  # what an HTML form posts
    body = "reason=from+a+button"
    revoked = as_alice.post(BASE + f"{pending.pk}/revoke/", body, **form)
    retried = as_alice.post(BASE + f"{failed.pk}/retry/", body, **form)

    assert (revoked.status_code, retried.status_code) == (200, 201)
    assert TaskAction.objects.filter(reason="from a button").count() == 2


def test_bulk_takes_json_only(as_alice, pending):
    body = f"action=revoke&ids={pending.pk}"
    response = as_alice.post(BASE + "bulk/", body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert status_of(pending) == TaskStatus.PENDING
