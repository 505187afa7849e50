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
