"""``status`` takes several values, repeated or comma-separated (OR), everywhere it is a filter."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from agentcore_task.services.queries import list_task_executions
from agentcore_task.services.stats import StatsArgumentError, get_task_stats
from agentcore_task.services.tracker import TaskTracker
from agentcore_task.status import TaskStatus
from tests.api.conftest import BASE

# The same question in each spelling a client may use.
SUCCESS_OR_FAILURE = [
    [("status", "SUCCESS"), ("status", "FAILURE")],
    [("status", "SUCCESS,FAILURE")],
    [("status", " SUCCESS , FAILURE ")],
    [("status", "SUCCESS,"), ("status", "FAILURE")],
    [("status", "SUCCESS,FAILURE"), ("status", "FAILURE")],
]
SPELLINGS = ["repeated", "comma list", "comma list with spaces", "mixed", "duplicates"]


@pytest.fixture
def rows(make_execution, alice, bob):
    """One execution of alice in each of PENDING, STARTED, SUCCESS, FAILURE; bob's SUCCESS."""
    for task_id, status in [
        ("a-pending", None),
        ("a-started", "STARTED"),
        ("a-success", "SUCCESS"),
        ("a-failure", "FAILURE"),
    ]:
        make_execution(task_id=task_id, created_by=alice, module="m")
        if status is not None:
            error = "x" if status == "FAILURE" else None
            TaskTracker.update_task_status(task_id, status, error=error)
    make_execution(task_id="b-success", created_by=bob, module="m")
    TaskTracker.update_task_status("b-success", "SUCCESS")


def task_ids(response):
    assert response.status_code == 200, response.content
    return sorted(item["task_id"] for item in response.json()["results"])


@pytest.mark.parametrize("query", SUCCESS_OR_FAILURE, ids=SPELLINGS)
@pytest.mark.parametrize("path", ["", "my-tasks/"])
def test_the_list_and_my_tasks_return_rows_in_any_of_the_statuses(
    client_for, alice, rows, path, query
):
    response = client_for(alice).get(BASE + path + "?" + urlencode(query))
    assert task_ids(response) == ["a-failure", "a-success"]


def test_the_list_of_every_user_ors_the_statuses_too(client_for, staff, rows):
    response = client_for(staff).get(BASE + "?my_tasks=false&status=SUCCESS&status=FAILURE")
    assert task_ids(response) == ["a-failure", "a-success", "b-success"]


def test_one_status_still_filters_on_that_status_alone(client_for, alice, rows):
    assert task_ids(client_for(alice).get(BASE + "?status=STARTED")) == ["a-started"]
    assert task_ids(client_for(alice).get(BASE + "?status=")) == [
        "a-failure",
        "a-pending",
        "a-started",
        "a-success",
    ]


@pytest.mark.parametrize("query", SUCCESS_OR_FAILURE, ids=SPELLINGS)
def test_stats_count_rows_in_any_of_the_statuses(client_for, alice, rows, query):
    response = client_for(alice).get(BASE + "stats/?" + urlencode(query))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["total"], body["success"], body["failure"], body["pending"]) == (2, 1, 1, 0)


@pytest.mark.parametrize(
    "query",
    [
        [("status", "SUCCESS"), ("status", "DONE")],
        [("status", "SUCCESS,DONE")],
        [("status", "success")],
    ],
    ids=["repeated", "comma list", "lower case"],
)
@pytest.mark.parametrize("path", ["", "my-tasks/", "stats/"])
def test_an_unknown_status_is_a_400_naming_the_parameter_and_the_value(
    client_for, alice, rows, path, query
):
    response = client_for(alice).get(BASE + path + "?" + urlencode(query))
    assert response.status_code == 400, response.content
    message = " ".join(response.json()["status"])
    bad = "success" if query == [("status", "success")] else "DONE"
    assert bad in message


@pytest.mark.parametrize(
    "status",
    [
        "SUCCESS,FAILURE",
        ["SUCCESS", "FAILURE"],
        ("SUCCESS", "FAILURE"),
        {TaskStatus.SUCCESS, TaskStatus.FAILURE},
        ["SUCCESS,FAILURE"],
        (value for value in ["SUCCESS", "FAILURE"]),
    ],
    ids=["comma string", "list", "tuple", "set of TaskStatus", "list of a comma string", "gen"],
)
def test_the_python_readers_take_strings_comma_strings_and_collections(rows, status):
    values = list(status) if not isinstance(status, str) else status
    found = list_task_executions(status=values)
    assert sorted(row.task_id for row in found) == ["a-failure", "a-success", "b-success"]
    stats = get_task_stats(status=values)
    assert (stats["total"], stats["success"], stats["failure"]) == (3, 2, 1)


def test_the_python_readers_name_an_unknown_status():
    with pytest.raises(ValueError, match=r"status: .*NOPE"):
        list_task_executions(status=["SUCCESS", "NOPE"])
    with pytest.raises(StatsArgumentError) as caught:
        get_task_stats(status="SUCCESS,NOPE")
    assert "NOPE" in " ".join(caught.value.errors["status"])
    with pytest.raises(ValueError, match="status"):
        list_task_executions(status=42)


def test_the_schema_documents_status_as_an_exploded_array_of_statuses():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in ["", "my-tasks/", "stats/"]:
        parameters = schema["paths"][BASE + path]["get"]["parameters"]
        (status,) = [p for p in parameters if p["name"] == "status"]
        assert status["schema"]["type"] == "array", path
        assert sorted(status["schema"]["items"]["enum"]) == sorted(TaskStatus.values)
        assert status["explode"] is True
        assert "comma" in status["description"]
