"""A user without a primary key owns nothing, whatever the permission classes admit.

``created_by_id = user.pk`` with ``AnonymousUser.pk`` None compiles to ``IS NULL``, which would
hand an anonymous client every row without a creator (periodic runs, auto-tracked system tasks,
rows of deleted users).
"""

from __future__ import annotations

import pytest

from tests.api.conftest import BASE

OPEN_PERMISSIONS = [
    "rest_framework.permissions.AllowAny",
    "rest_framework.permissions.IsAuthenticatedOrReadOnly",
]

pytestmark = pytest.mark.parametrize("permission", OPEN_PERMISSIONS)


@pytest.fixture
def rows(make_execution, alice):
    return {
        "alice": make_execution(
            created_by=alice, task_id="alice.task:1", task_kwargs={"secret_plan": "a"}
        ),
        "system": make_execution(
            task_id="system.cleanup:1", task_kwargs={"shard": 3}, metadata={"tenant": 7}
        ),
    }


@pytest.fixture
def anonymous(client_for, settings, permission):
    settings.AGENTCORE_TASK_API_PERMISSION_CLASSES = [permission]
    return client_for(None)


def test_anonymous_lists_nothing(anonymous, rows):
    for path in ["", "my-tasks/", "?metadata=%7B%22tenant%22%3A7%7D", "?include_metadata=false"]:
        response = anonymous.get(BASE + path)
        assert response.status_code == 200, path
        assert response.json()["results"] == [], path


@pytest.mark.parametrize("which", ["system", "alice"])
@pytest.mark.parametrize(
    "path",
    ["{pk}/", "by-task-id/{task_id}/", "status/?task_id={task_id}&sync=false"],
)
def test_anonymous_opens_no_row(anonymous, rows, which, path):
    row = rows[which]
    response = anonymous.get(BASE + path.format(pk=row.pk, task_id=row.task_id))
    assert response.status_code == 404
    assert "shard" not in response.content.decode()


@pytest.mark.parametrize("which", ["system", "alice"])
def test_anonymous_syncs_no_row(anonymous, rows, which, permission):
    response = anonymous.post(BASE + f"{rows[which].pk}/sync/")
    # IsAuthenticatedOrReadOnly refuses the POST itself; AllowAny reaches the scoping.
    expected = (401, 403) if "ReadOnly" in permission else (404,)
    assert response.status_code in expected


def test_anonymous_stats_count_nothing(anonymous, rows):
    response = anonymous.get(BASE + "stats/")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 0
    assert body["by_module"] == {} and body["by_task_name"] == {}


@pytest.mark.parametrize("query", ["?my_tasks=false", "?created_by={alice}"])
def test_anonymous_asking_for_others_rows_is_403(anonymous, rows, alice, query):
    for path in ["", "stats/"]:
        response = anonymous.get(BASE + path + query.format(alice=alice.pk))
        assert response.status_code == 403, path


def test_anonymous_my_tasks_with_created_by_none_lists_nothing(anonymous, rows):
    response = anonymous.get(BASE + "my-tasks/?created_by=None")
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.json()["results"] == []
