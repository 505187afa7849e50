"""No cross-user read through any endpoint; staff and the permission see everything."""

from __future__ import annotations

import pytest

from tests.api.conftest import BASE

pytestmark = pytest.mark.smoke


@pytest.fixture
def rows(make_execution, alice, bob):
    return {
        "alice": make_execution(created_by=alice, task_id="alice.task:1"),
        "bob": make_execution(created_by=bob, task_id="bob.task:1"),
        "system": make_execution(task_id="system.cleanup:1"),
    }


def ids(response):
    return {item["task_id"] for item in response.json()["results"]}


def test_a_user_lists_only_their_own_executions(client_for, alice, rows):
    response = client_for(alice).get(BASE)
    assert response.status_code == 200
    assert ids(response) == {"alice.task:1"}
    assert ids(client_for(alice).get(BASE + "my-tasks/")) == {"alice.task:1"}


@pytest.mark.parametrize("query", ["?my_tasks=false", "?my_tasks=0", "?created_by={bob}"])
def test_asking_for_others_rows_without_permission_is_403(client_for, alice, bob, rows, query):
    response = client_for(alice).get(BASE + query.format(bob=bob.pk))
    assert response.status_code == 403
    assert "view_all_taskexecution" in response.json()["detail"]


@pytest.mark.parametrize("who", ["staff", "auditor"])
def test_staff_and_permission_holders_see_everything(client_for, rows, who, request):
    client = client_for(request.getfixturevalue(who))
    assert ids(client.get(BASE + "?my_tasks=false")) == {
        "alice.task:1",
        "bob.task:1",
        "system.cleanup:1",
    }
    bob_id = rows["bob"].created_by_id
    assert ids(client.get(BASE + f"?created_by={bob_id}")) == {"bob.task:1"}
    assert client.get(BASE + f"{rows['system'].pk}/").status_code == 200
    assert ids(client.get(BASE)) == set(), "by default even staff see only their own"


def test_own_created_by_is_allowed(client_for, alice, rows):
    assert ids(client_for(alice).get(BASE + f"?created_by={alice.pk}")) == {"alice.task:1"}


@pytest.mark.parametrize(
    "path",
    [
        "{pk}/",
        "by-task-id/{task_id}/",
        "status/?task_id={task_id}",
        "status/?task_id={task_id}&sync=false",
    ],
)
@pytest.mark.parametrize("other", ["bob", "system"])
def test_another_users_row_is_404_everywhere(client_for, alice, rows, path, other):
    row = rows[other]
    response = client_for(alice).get(BASE + path.format(pk=row.pk, task_id=row.task_id))
    assert response.status_code == 404


def test_syncing_another_users_row_is_404(client_for, alice, rows):
    assert client_for(alice).post(BASE + f"{rows['bob'].pk}/sync/").status_code == 404
    assert client_for(alice).post(BASE + f"{rows['alice'].pk}/sync/").status_code == 200


def test_anonymous_requests_are_refused(client_for, rows):
    client = client_for(None)
    for path in ["", "my-tasks/", f"{rows['system'].pk}/", "status/?task_id=x"]:
        assert client.get(BASE + path).status_code in (401, 403)


def test_my_tasks_refuses_someone_elses_created_by(client_for, alice, bob, rows):
    response = client_for(alice).get(BASE + f"my-tasks/?created_by={bob.pk}")
    assert response.status_code == 400
    assert "created_by" in response.json()


def test_permission_classes_come_from_the_setting(client_for, rows, settings):
    settings.AGENTCORE_TASK_API_PERMISSION_CLASSES = ["rest_framework.permissions.IsAdminUser"]
    assert client_for(rows["alice"].created_by).get(BASE).status_code == 403


def test_a_superusers_default_list_and_stats_are_their_own_rows(client_for, make_user, rows):
    """As the README says: a superuser, too, needs my_tasks=false to see everyone's rows."""
    root = make_user(username="root", is_staff=True, is_superuser=True)
    client = client_for(root)
    assert ids(client.get(BASE)) == set()
    assert client.get(BASE + "stats/").json()["total"] == 0
    assert len(ids(client.get(BASE + "?my_tasks=false"))) == 3
    assert client.get(BASE + "stats/?my_tasks=false").json()["total"] == 3
