"""Fuzz the API against its own OpenAPI schema: no 5xx, no response outside the schema."""

from __future__ import annotations

import base64

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
API = schema.include(path_regex="^/api/v1/tasks/")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def keep_connection():
    """Keep the test transaction's connection across WSGI requests, as Django's test client does.

    A real WSGI request ends by closing old connections, which would close the one holding
    the test's transaction.
    """
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_rows(keep_connection, make_execution, make_user):
    user = make_user(username="fuzzer", password="fuzz-pass", is_staff=True)
    row = make_execution(created_by=user, metadata={"tenant": 1, "progress_percent": 10})
    make_execution(task_id="system:1")
    return user, row


@pytest.mark.slow
@pytest.mark.django_db
@API.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case, fuzz_rows):
    token = base64.b64encode(b"fuzzer:fuzz-pass").decode()
    case.call_and_validate(headers={"Authorization": f"Basic {token}"}, checks=CHECKS)


def _cursor(querystring: str) -> str:
    return base64.b64encode(querystring.encode()).decode()


def _nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


# Inputs that once were 500s, each with the parameter its 400 must name. Strings are
# query strings on the executions list unless they start with a path.
CORPUS = [
    ("?created_by=%C2%B2", "created_by"),  # "²": str.isdigit() is true, int() refuses
    ("?created_by=%E2%91%A0", "created_by"),  # "①"
    ("?created_by=%D9%A3", "created_by"),  # "٣": int() reads it, the API takes ASCII ids only
    ("stats/?created_by=%C2%B2", "created_by"),
    ("my-tasks/?created_by=%E2%91%A0", "created_by"),
    (f"?cursor={_cursor('p=')}", "cursor"),  # empty position
    (f"?cursor={_cursor('p=yesterday')}", "cursor"),  # not a date
    (f"?cursor={_cursor('p=2026-01-01')}", "cursor"),  # a date without an offset
    (f"?cursor={_cursor('p=0001-01-01 00:00:00%2B01:00')}", "cursor"),  # before year 1 in UTC
    (f"?cursor={_cursor('p=9999-12-31 23:59:59-01:00')}", "cursor"),  # after 9999 in UTC
    (f"?cursor={_cursor('p=2026-01-01 00:00:00%2B99:00')}", "cursor"),
    *((f"?metadata={{%22a%22:{_nested(depth)}}}", "metadata") for depth in (330, 500, 980)),
    *((f"?task_args={_nested(depth)}", "task_args") for depth in (330, 980)),
    *((f"?result={_nested(depth)}", "result") for depth in (330, 980)),
    *((f"stats/?metadata={{%22a%22:{_nested(depth)}}}", "metadata") for depth in (330, 980)),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "parameter"), CORPUS)
def test_known_malformed_inputs_are_400s_naming_the_parameter(client, staff_login, path, parameter):
    response = client.get("/api/v1/tasks/executions/" + path)
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert parameter in body, body
    assert parameter in body["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "offset", ["+23:59", "-23:59", "+16:00", "-15:59", "+00:00", "+15:59", "-14:30"]
)
def test_a_cursor_position_with_any_python_offset_is_read_in_utc(
    client, staff_login, make_execution, offset
):
    make_execution(created_by=staff_login)
    cursor = _cursor(f"p=2026-06-01 12:00:00{offset}".replace("+", "%2B"))
    response = client.get(f"/api/v1/tasks/executions/?cursor={cursor}")
    assert response.status_code == 200, response.content[:300]


@pytest.mark.django_db
def test_a_genuine_cursor_still_pages_through_every_row(client, staff_login, make_execution):
    created = {make_execution(created_by=staff_login).task_id for _ in range(5)}
    seen: list[str] = []
    url: str | None = "/api/v1/tasks/executions/?cursor=&page_size=2"
    while url:
        body = client.get(url).json()
        seen.extend(item["task_id"] for item in body["results"])
        url = body["next"]
    assert sorted(seen) == sorted(created)


@pytest.mark.django_db
def test_a_json_filter_of_100_levels_is_accepted_and_101_is_a_400(client, staff_login):
    base = "/api/v1/tasks/executions/?task_args="
    assert client.get(base + _nested(100)).status_code == 200
    response = client.get(base + _nested(101))
    assert response.status_code == 400
    assert "100 levels" in str(response.json()["task_args"])


@pytest.mark.django_db
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_config_patch_nested_deeply_is_a_400(client, depth, make_user):
    client.force_login(make_user(username="cfg-staff", is_staff=True))
    body = '{"retention_days": ' + "[" * depth + "]" * depth + "}"
    response = client.patch("/api/v1/tasks/config/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"] or "retention_days" in response.json()


@pytest.fixture
def staff_login(client, make_user):
    user = make_user(username="corpus-staff", is_staff=True)
    client.force_login(user)
    return user
