"""The Server-Sent Events streams, served by a real uvicorn process to real HTTP clients.

Rows are written by this process through the library's services (committed), and arrive at
the server only through the database: its hub's doorbell and poll.
"""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from agentcore_task.live.listener import APPLICATION
from agentcore_task.models import TaskExecution
from agentcore_task.services.registration import register_task_execution
from agentcore_task.services.writes import update_progress, update_task_status
from tests.celery.conftest import database_url
from tests.conftest import new_task_id
from tests.live.conftest import basic_auth
from tests.live.sse import EventStream, executions

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

API = "/api/v1/tasks"


def register(user: Any = None, **extra: Any) -> TaskExecution:
    task_id = new_task_id()
    register_task_execution(task_id, "tests.live.job", "tests", created_by=user, **extra)
    return TaskExecution.objects.get(task_id=task_id)


def percent_of(row: TaskExecution, percent: int):
    return lambda m: (
        m.event == "execution"
        and m.data["id"] == row.pk
        and (m.data["progress_percent"] == percent)
    )


def test_a_detail_stream_sends_the_row_then_its_progress_and_status(
    asgi_server, user_with_password
):
    alice = user_with_password()
    row = register(alice)
    stream = EventStream(
        f"{asgi_server.url}{API}/executions/{row.pk}/stream/", headers=basic_auth(alice)
    )
    try:
        assert stream.status_code == 200
        assert stream.response_headers["content-type"].startswith("text/event-stream")
        assert stream.response_headers["cache-control"] == "no-cache, no-transform"
        assert stream.response_headers["x-accel-buffering"] == "no"
        first = stream.wait_for(lambda m: m.event == "execution")
        assert any(m.retry == 3000 for m in first)
        snapshot = first[-1]
        assert snapshot.data["task_id"] == row.task_id
        assert snapshot.data["status"] == "PENDING"
        assert snapshot.id is not None

        update_task_status(row.task_id, "STARTED")
        update_progress(row.task_id, percent=40, message="halfway", step="copy")
        seen = stream.wait_for(percent_of(row, 40))
        event = seen[-1].data
        assert (event["progress_message"], event["progress_step"]) == ("halfway", "copy")
        assert event["status"] == "STARTED"
        assert int(seen[-1].id) > int(snapshot.id)

        update_task_status(row.task_id, "SUCCESS", result={"ok": True})
        done = stream.wait_for(lambda m: m.event == "execution" and m.data["status"] == "SUCCESS")
        assert done[-1].data["is_completed"] is True
    finally:
        stream.close()


def test_an_idle_stream_sends_heartbeat_comments(asgi_server, user_with_password):
    alice = user_with_password()
    row = register(alice)
    stream = EventStream(
        f"{asgi_server.url}{API}/executions/{row.pk}/stream/", headers=basic_auth(alice)
    )
    try:
        stream.wait_for(lambda m: "heartbeat" in m.comments)
    finally:
        stream.close()


def test_session_token_and_basic_clients_can_all_stream(asgi_server, user_with_password):
    alice = user_with_password()
    row = register(alice)
    url = f"{asgi_server.url}{API}/executions/{row.pk}/stream/"
    logged_in = Client()
    logged_in.force_login(alice)  # a session row, as the login view would leave
    session = {"Cookie": f"sessionid={logged_in.cookies['sessionid'].value}"}
    token = {"Authorization": f"Token {Token.objects.create(user=alice).key}"}
    for headers in (session, token, basic_auth(alice)):
        stream = EventStream(url, headers=headers)
        try:
            assert stream.status_code == 200, headers
            assert stream.wait_for(lambda m: m.event == "execution")[-1].data["id"] == row.pk
        finally:
            stream.close()
    anonymous = httpx.get(url, headers={"Accept": "text/event-stream"})
    assert anonymous.status_code == 403
    assert "credentials" in anonymous.json()["detail"]


def test_each_user_sees_only_the_rows_the_list_would_show_them(asgi_server, user_with_password):
    alice, bob = user_with_password(), user_with_password()
    staff = user_with_password(is_staff=True)
    url = f"{asgi_server.url}{API}/executions/stream/"
    streams = {
        "alice": EventStream(url, headers=basic_auth(alice)),
        "bob": EventStream(url, headers=basic_auth(bob)),
        "staff_all": EventStream(f"{url}?my_tasks=false", headers=basic_auth(staff)),
        "bob_tenant": EventStream(
            f"{url}?metadata=%7B%22tenant%22%3A+2%7D", headers=basic_auth(bob)
        ),
    }
    try:
        for stream in streams.values():
            stream.drain(quiet=1.0)
        alices = register(alice, metadata={"tenant": 1})
        bobs = register(bob, metadata={"tenant": 2})
        bobs_other = register(bob, metadata={"tenant": 3})
        nobodys = register(None)
        for row in (alices, bobs, bobs_other, nobodys):
            update_task_status(row.task_id, "STARTED")
            update_progress(row.task_id, percent=10)
        first = executions(streams["staff_all"].wait_for(percent_of(nobodys, 10)))
        seen = {name: {e["id"] for e in executions(s.drain())} for name, s in streams.items()}
        seen["staff_all"] |= {e["id"] for e in first}
        assert seen["alice"] == {alices.pk}
        assert seen["bob"] == {bobs.pk, bobs_other.pk}
        assert seen["bob_tenant"] == {bobs.pk}
        assert seen["staff_all"] >= {alices.pk, bobs.pk, bobs_other.pk, nobodys.pk}
    finally:
        for stream in streams.values():
            stream.close()


def test_a_stream_of_someone_elses_row_is_a_404_and_my_tasks_false_a_403(
    asgi_server, user_with_password
):
    alice, bob = user_with_password(), user_with_password()
    row = register(alice)
    headers = {"Accept": "text/event-stream", **basic_auth(bob)}
    other = httpx.get(f"{asgi_server.url}{API}/executions/{row.pk}/stream/", headers=headers)
    assert other.status_code == 404
    everyone = httpx.get(
        f"{asgi_server.url}{API}/executions/stream/?my_tasks=false", headers=headers
    )
    assert everyone.status_code == 403
    bad = httpx.get(f"{asgi_server.url}{API}/executions/stream/?status=DONE", headers=headers)
    assert bad.status_code == 400
    assert "status" in bad.json()


def test_task_id_filters_the_list_stream(asgi_server, user_with_password):
    alice = user_with_password()
    wanted, other = register(alice), register(alice)
    url = f"{asgi_server.url}{API}/executions/stream/?task_id={wanted.task_id}"
    stream = EventStream(url, headers=basic_auth(alice))
    try:
        assert [e["id"] for e in executions(stream.drain(quiet=1.0))] == [wanted.pk]
        update_progress(other.task_id, percent=5)
        update_progress(wanted.task_id, percent=6)
        stream.wait_for(percent_of(wanted, 6))
        assert {e["id"] for e in executions(stream.drain())} <= {wanted.pk}
    finally:
        stream.close()


def test_a_reconnect_with_last_event_id_misses_nothing_that_changed_meanwhile(
    asgi_server, user_with_password
):
    alice = user_with_password()
    rows = [register(alice) for _ in range(3)]
    url = f"{asgi_server.url}{API}/executions/stream/"
    stream = EventStream(url, headers=basic_auth(alice))
    try:
        update_progress(rows[0].task_id, percent=1)
        last_id = stream.wait_for(percent_of(rows[0], 1))[-1].id
    finally:
        stream.close()

    update_progress(rows[1].task_id, percent=50)  # a progress merge: no doorbell
    update_task_status(rows[2].task_id, "FAILURE", error="boom")  # a status change
    created = register(alice)  # an insert
    someone_elses = register(None)

    again = EventStream(url, headers={"Last-Event-ID": last_id, **basic_auth(alice)})
    try:
        caught_up = {e["id"]: e for e in executions(again.drain(quiet=1.0))}
    finally:
        again.close()
    assert caught_up[rows[1].pk]["progress_percent"] == 50
    assert caught_up[rows[2].pk]["status"] == "FAILURE"
    assert created.pk in caught_up
    assert someone_elses.pk not in caught_up


def test_a_bad_last_event_id_is_a_400_naming_it(asgi_server, user_with_password):
    alice = user_with_password()
    answer = httpx.get(
        f"{asgi_server.url}{API}/executions/stream/",
        headers={"Accept": "text/event-stream", "Last-Event-ID": "yesterday", **basic_auth(alice)},
    )
    assert answer.status_code == 400
    assert "Last-Event-ID" in answer.json()


CLIENT_BACKENDS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
)


def test_many_clients_share_one_listening_connection(asgi_server, user_with_password):
    alice = user_with_password()
    row = register(alice)
    url = f"{asgi_server.url}{API}/executions/{row.pk}/stream/"
    with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as probe:
        before = probe.execute(CLIENT_BACKENDS).fetchone()[0]
        streams = [EventStream(url, headers=basic_auth(alice)) for _ in range(20)]
        try:
            for stream in streams:
                stream.wait_for(lambda m: m.event == "execution")
            update_progress(row.task_id, percent=77)
            for stream in streams:
                stream.wait_for(percent_of(row, 77))
            listeners = probe.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                [APPLICATION],
            ).fetchone()[0]
            during = probe.execute(CLIENT_BACKENDS).fetchone()[0]
        finally:
            for stream in streams:
                stream.close()
    assert listeners == 1
    # The hub's connection and the one thread that runs the (sync) views: not one per client.
    assert during - before <= 2
