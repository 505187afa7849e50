"""The API's sync endpoints against the real Redis result backend (states stored directly)."""

from __future__ import annotations

import pytest
from celery import states
from celery.backends.redis import RedisBackend

from agentcore_task.api.views import SYNC_ERROR_HEADER
from tests.api.conftest import BASE
from tests.celery_app import app
from tests.integration.test_failure_policy import closed_port


@pytest.fixture
def finished_in_celery(make_execution, alice):
    row = make_execution(created_by=alice)
    backend = app.backend  # the real one, even if a test swaps it
    backend.store_result(row.task_id, {"total": 3}, states.SUCCESS)
    yield row
    backend.forget(row.task_id)


@pytest.fixture
def backend_down(monkeypatch):
    dead = RedisBackend(app=app, url=f"redis://127.0.0.1:{closed_port()}/0")
    monkeypatch.setattr(app._local, "backend", dead, raising=False)


def test_post_sync_copies_the_state_from_celery(client_for, alice, finished_in_celery):
    response = client_for(alice).post(f"{BASE}{finished_in_celery.pk}/sync/")

    assert response.status_code == 200
    assert (response.data["status"], response.data["result"]) == ("SUCCESS", {"total": 3})
    assert response.data["finished_at"] is not None


def test_post_sync_answers_503_with_error_when_the_backend_is_down(
    client_for, alice, finished_in_celery, backend_down
):
    response = client_for(alice).post(f"{BASE}{finished_in_celery.pk}/sync/")

    assert response.status_code == 503
    assert "result backend could not be read" in response.data["error"]
    assert response.data["detail"] == response.data["error"]
    assert client_for(alice).get(f"{BASE}{finished_in_celery.pk}/").data["status"] == "PENDING"


def test_status_syncs_by_default_and_not_with_sync_false(client_for, alice, finished_in_celery):
    url = f"{BASE}status/?task_id={finished_in_celery.task_id}"

    assert client_for(alice).get(url + "&sync=false").data["status"] == "PENDING"
    response = client_for(alice).get(url)
    assert (response.data["status"], response.data["result"]) == ("SUCCESS", {"total": 3})
    assert SYNC_ERROR_HEADER not in response


def test_status_answers_the_recorded_row_and_a_header_when_the_backend_is_down(
    client_for, alice, finished_in_celery, backend_down
):
    response = client_for(alice).get(f"{BASE}status/?task_id={finished_in_celery.task_id}")

    assert response.status_code == 200
    assert response.data["status"] == "PENDING"
    assert "result backend could not be read" in response[SYNC_ERROR_HEADER]


def test_sync_of_another_users_row_is_a_404(client_for, bob, finished_in_celery):
    assert client_for(bob).post(f"{BASE}{finished_in_celery.pk}/sync/").status_code == 404
