"""The original's metadata controls on every response that carries metadata.

``include_metadata=false`` answers ``"metadata": null`` with the key present, and
``metadata_fields`` keeps only the named top-level keys, on the list, ``my-tasks/``, ``{id}/``,
``by-task-id/``, ``status/`` (synced or not) and ``{id}/sync/``.
"""

from __future__ import annotations

import pytest
from celery import states

from tests.api.conftest import BASE
from tests.celery_app import app

METADATA = {"progress_percent": 40, "progress_step": "parse", "tenant": 7}


@pytest.fixture
def row(make_execution, alice):
    execution = make_execution(created_by=alice, metadata=METADATA)
    app.backend.store_result(execution.task_id, {"total": 3}, states.SUCCESS)
    yield execution
    app.backend.forget(execution.task_id)


def _calls(row):
    """(method, path, params) of every metadata-carrying response for ``row``."""
    return [
        ("get", BASE, {}),
        ("get", f"{BASE}my-tasks/", {}),
        ("get", f"{BASE}{row.pk}/", {}),
        ("get", f"{BASE}by-task-id/{row.task_id}/", {}),
        ("get", f"{BASE}status/", {"task_id": row.task_id, "sync": "false"}),
        ("get", f"{BASE}status/", {"task_id": row.task_id}),
        ("post", f"{BASE}{row.pk}/sync/", {}),
    ]


def _metadata(client, method, path, params, **controls):
    if method == "post":
        query = "&".join(f"{key}={value}" for key, value in controls.items())
        response = client.post(f"{path}?{query}")
    else:
        response = client.get(path, {**params, **controls})
    assert response.status_code == 200, (path, response.content)
    body = response.json()
    item = body["results"][0] if "results" in body else body
    assert "metadata" in item, path
    return item["metadata"]


def test_include_metadata_false_answers_null_everywhere(client_for, alice, row):
    client = client_for(alice)
    for method, path, params in _calls(row):
        assert _metadata(client, method, path, params, include_metadata="false") is None, path


def test_metadata_fields_keeps_only_those_keys_everywhere(client_for, alice, row):
    client = client_for(alice)
    for method, path, params in _calls(row):
        kept = _metadata(client, method, path, params, metadata_fields="progress_percent,absent")
        assert kept == {"progress_percent": 40}, path


def test_without_controls_every_response_has_the_whole_metadata(client_for, alice, row):
    client = client_for(alice)
    for method, path, params in _calls(row):
        assert _metadata(client, method, path, params) == METADATA, path


def test_include_metadata_false_wins_over_metadata_fields(client_for, alice, row):
    metadata = _metadata(
        client_for(alice),
        "get",
        f"{BASE}{row.pk}/",
        {},
        include_metadata="0",
        metadata_fields="tenant",
    )
    assert metadata is None


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"include_metadata": "maybe"}, "include_metadata"),
        ({"metadata_fields": " , "}, "metadata_fields"),
    ],
)
def test_a_malformed_control_is_a_400_naming_it_everywhere_before_any_sync(
    client_for, alice, row, params, named
):
    client = client_for(alice)
    query = "&".join(f"{key}={value}" for key, value in params.items())
    for method, path, base in _calls(row):
        if method == "post":
            response = client.post(f"{path}?{query}")
        else:
            response = client.get(path, {**base, **params})
        assert response.status_code == 400, (path, response.content)
        assert named in response.json(), path
    assert client.get(f"{BASE}{row.pk}/").json()["status"] == "PENDING"  # not synced


# Every operation whose response carries metadata, as the OpenAPI schema names it.
METADATA_OPERATIONS = [
    ("get", "/api/v1/tasks/executions/"),
    ("get", "/api/v1/tasks/executions/my-tasks/"),
    ("get", "/api/v1/tasks/executions/{id}/"),
    ("get", "/api/v1/tasks/executions/by-task-id/{task_id}/"),
    ("get", "/api/v1/tasks/executions/status/"),
    ("post", "/api/v1/tasks/executions/{id}/sync/"),
]


@pytest.fixture(scope="module")
def openapi():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize(("method", "path"), METADATA_OPERATIONS)
def test_openapi_describes_both_controls_on_every_metadata_response(openapi, method, path):
    parameters = {
        parameter["name"]: parameter
        for parameter in openapi["paths"][path][method].get("parameters", [])
        if parameter["in"] == "query"
    }
    assert "false" in parameters["include_metadata"]["schema"]["enum"]
    assert "Comma-separated" in parameters["metadata_fields"]["description"]


@pytest.mark.parametrize("component", ["TaskExecutionList", "TaskExecutionDetail"])
def test_openapi_says_metadata_is_always_present_and_may_be_null(openapi, component):
    """The key is there even with include_metadata=false (null): clients may rely on it."""
    schema = openapi["components"]["schemas"][component]
    assert "metadata" in schema["required"]
    assert schema["properties"]["metadata"]["nullable"] is True
