"""GET executions/stats/: the list's scoping and filters, one query, 400s naming the parameter."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from agentcore_task.models import TaskExecution
from tests.api.conftest import BASE
from tests.conftest import new_task_id
from tests.integration.test_stats import COLUMNS, brute_force, execution, keep
from tests.rows import rules_lifted

STATS = BASE + "stats/"
UTC = dt.UTC


def get(client, **params):
    return client.get(STATS + "?" + urlencode(params))


def ok(response) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def rows(alice, bob):
    """Seeded random executions of alice, bob and the system, as the database holds them."""
    rng = random.Random(20)
    new = []
    for _ in range(240):
        module = rng.choice(["billing", "mail", "search"])
        new.append(
            execution(
                dt.datetime(2025, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=rng.randrange(525_600)),
                rng.choice(["PENDING", "STARTED", "SUCCESS", "SUCCESS", "FAILURE", "REVOKED"]),
                seconds=rng.uniform(0, 100),
                module=module,
                task_name=f"{module}.{rng.choice(['a', 'b'])}",
                created_by_id=rng.choice([alice.pk, bob.pk, None]),
                metadata={"tenant": rng.randrange(3)},
            )
        )
    TaskExecution.objects.bulk_create(TaskExecution(task_id=new_task_id(), **row) for row in new)
    return list(TaskExecution.objects.values(*COLUMNS))


def expected(rows, **filters):
    return brute_force([row for row in rows if keep(row, filters)])


def test_a_user_counts_only_their_own_executions(client_for, alice, rows):
    mine = [row for row in rows if row["created_by_id"] == alice.pk]
    assert ok(client_for(alice).get(STATS)) == brute_force(mine)
    assert ok(get(client_for(alice), created_by=alice.pk)) == brute_force(mine)


@pytest.mark.parametrize("who", ["staff", "auditor"])
def test_my_tasks_false_and_created_by_need_and_follow_the_permission(
    client_for, rows, bob, who, request
):
    client = client_for(request.getfixturevalue(who))
    assert ok(get(client, my_tasks="false")) == brute_force(rows)
    assert ok(get(client, created_by=bob.pk)) == expected(rows, created_by=bob.pk)
    assert ok(client.get(STATS))["total"] == 0, "by default even staff count only their own"


@pytest.mark.parametrize("query", ["my_tasks=false", "my_tasks=0", "created_by={bob}"])
def test_counting_others_without_permission_is_403(client_for, alice, bob, rows, query):
    response = client_for(alice).get(STATS + "?" + query.format(bob=bob.pk))
    assert response.status_code == 403
    assert "view_all_taskexecution" in response.json()["detail"]


@pytest.mark.parametrize(
    "filters",
    [
        {"module": "mail"},
        {"task_name": "billing.b"},
        {"status": "FAILURE"},
        {"metadata": {"tenant": 1}, "module": "search"},
        {"start_date": dt.date(2025, 3, 30), "end_date": dt.date(2025, 10, 26)},
        {"start_date": dt.datetime(2025, 6, 1, 6, 30, tzinfo=UTC)},
    ],
)
def test_the_list_filters_apply(client_for, staff, alice, rows, filters):
    params = {
        name: json.dumps(value)
        if isinstance(value, dict)
        else value.isoformat()
        if isinstance(value, dt.date)
        else value
        for name, value in filters.items()
    }
    assert ok(get(client_for(staff), my_tasks="false", **params)) == expected(rows, **filters)
    own = ok(get(client_for(alice), **params))
    assert own == expected(rows, created_by=alice.pk, **filters)


def test_one_query_on_the_execution_table(client_for, staff, rows):
    with CaptureQueriesContext(connection) as captured:
        body = ok(
            get(
                client_for(staff),
                my_tasks="false",
                module="billing",
                granularity="week",
                start_date="2025-01-01",
                end_date="2025-03-31",
                include="durations",
            )
        )
    on_table = [q for q in captured.captured_queries if "agentcore_task_execution" in q["sql"]]
    assert len(on_table) == 1
    assert len(body["series"]) == 14
    assert set(body["durations"]) == {"billing.a", "billing.b"}


def test_series_buckets_are_local_iso_datetimes(client_for, alice):
    TaskExecution.objects.bulk_create(
        [
            TaskExecution(task_id=new_task_id(), created_by=alice, **row)
            for row in (
                execution(dt.datetime(2025, 3, 30, 0, 30, tzinfo=UTC)),
                execution(dt.datetime(2025, 3, 30, 22, 30, tzinfo=UTC), status="FAILURE"),
            )
        ]
    )
    body = ok(
        get(client_for(alice), granularity="day", start_date="2025-03-29", end_date="2025-03-31")
    )
    assert [(b["start"], b["total"], b["failure"]) for b in body["series"]] == [
        ("2025-03-29T00:00:00+01:00", 0, 0),
        ("2025-03-30T00:00:00+01:00", 1, 0),
        ("2025-03-31T00:00:00+02:00", 1, 1),
    ]
    assert "durations" not in body


def test_durations_through_the_api(client_for, alice):
    when = dt.datetime(2025, 5, 5, tzinfo=UTC)
    with rules_lifted():  # an import with its own times
        TaskExecution.objects.bulk_create(
            TaskExecution(
                task_id=new_task_id(), created_by=alice, **execution(when, status, seconds)
            )
            for status, seconds in (("SUCCESS", 2), ("SUCCESS", 4), ("FAILURE", 9))
        )
    body = ok(get(client_for(alice), include="durations"))
    assert body["durations"] == {
        "billing.invoice": {
            "count": 3,
            "avg": pytest.approx(5),
            "p50": pytest.approx(4),
            "p95": pytest.approx(8.5),
            "max": pytest.approx(9),
            "failure_rate": pytest.approx(1 / 3),
            "queue_wait_p50": 0.0,  # these rows started the moment they were created
            "queue_wait_p95": 0.0,
        }
    }
    assert "series" not in body


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"granularity": "year"}, "granularity"),
        ({"include": "everything"}, "include"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2025-02-30"}, "end_date"),
        ({"metadata": "[1]"}, "metadata"),
        ({"task_args": "{not json"}, "task_args"),
        ({"created_by": "abc"}, "created_by"),
        ({"status": "DONE"}, "status"),
        ({"granularity": "hour", "start_date": "2020-01-01"}, "granularity"),
        ({"module": "a\x00b"}, "module"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(client_for, staff, params, bad):
    response = get(client_for(staff), my_tasks="false", **params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert bad in body, "per-parameter messages, as for the list"
    assert bad in body["detail"]


def test_the_schema_describes_the_endpoint(client_for, staff):
    schema = client_for(staff).get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/tasks/executions/stats/"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"module", "task_name", "created_by", "my_tasks", "start_date", "end_date"} <= names
    assert {"metadata", "task_kwargs", "task_args", "result", "granularity", "include"} <= names
    assert "ordering" not in names and "page" not in names
    ok_schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    stats = schema["components"]["schemas"][ok_schema["$ref"].rsplit("/", 1)[1]]
    assert {"total", "pending", "by_module", "by_task_name"} <= set(stats["required"])
    assert {"series", "durations"} & set(stats["required"]) == set()
    assert "400" in operation["responses"]


def test_a_zone_offset_with_seconds_is_rendered_in_utc(client_for, alice):
    # Africa/Monrovia was 44 minutes 30 seconds behind UTC until 1972: not an RFC 3339 offset.
    with override_settings(TIME_ZONE="Africa/Monrovia"):
        body = ok(
            get(
                client_for(alice), granularity="day", start_date="1971-01-01", end_date="1971-01-02"
            )
        )
    assert [bucket["start"] for bucket in body["series"]] == [
        "1971-01-01T00:44:30Z",
        "1971-01-02T00:44:30Z",
    ]


def test_a_series_before_1900_is_a_400(client_for, alice):
    response = get(client_for(alice), granularity="week", start_date="1097-07-12")
    assert response.status_code == 400
    assert "1900" in response.json()["start_date"][0]
    response = get(client_for(alice), granularity="month", end_date="1900-03-31")
    assert response.status_code == 400
    assert "end_date" in response.json()
