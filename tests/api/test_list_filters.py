"""List filters, ordering, pagination and the 400s for bad input."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agentcore_task.models import TaskExecution
from agentcore_task.services.queries import list_task_executions
from agentcore_task.services.tracker import TaskTracker
from tests.api.conftest import BASE


def get(client, **params):
    return client.get(BASE + "?" + urlencode(params))


def task_ids(response):
    assert response.status_code == 200, response.content
    return [item["task_id"] for item in response.json()["results"]]


def set_created_at(row, when):
    TaskExecution.objects.filter(pk=row.pk).update(created_at=when)


@pytest.fixture
def client(client_for, alice):
    return client_for(alice)


@pytest.fixture
def make(make_execution, alice):
    def create(task_id, **kwargs):
        return make_execution(task_id=task_id, created_by=alice, **kwargs)

    return create


def test_equality_filters(client, make):
    make("a", module="billing", task_name="billing.tasks.invoice")
    make("b", module="billing", task_name="billing.tasks.refund")
    make("c", module="mail", task_name="mail.tasks.send")
    TaskTracker.update_task_status("b", "FAILURE", error="x")

    assert sorted(task_ids(get(client, module="billing"))) == ["a", "b"]
    assert task_ids(get(client, task_name="mail.tasks.send")) == ["c"]
    assert task_ids(get(client, status="FAILURE")) == ["b"]
    assert task_ids(get(client, module="billing", status="PENDING")) == ["a"]


def test_search_matches_task_name_or_id_substring(client, make):
    make("abc-123", task_name="x.import_feed")
    make("zzz-999", task_name="x.other")
    assert task_ids(get(client, search="IMPORT")) == ["abc-123"]
    assert task_ids(get(client, search="z-99")) == ["zzz-999"]


def test_json_containment_filters(client, make):
    make("t1", metadata={"tenant": 1, "source": "api"}, task_kwargs={"feed": 7}, task_args=[7, 8])
    make("t2", metadata={"tenant": 2}, task_kwargs={"feed": 8}, task_args=[9])
    TaskTracker.update_task_status("t2", "SUCCESS", result={"ok": True, "n": 3})

    assert task_ids(get(client, metadata=json.dumps({"tenant": 1}))) == ["t1"]
    assert task_ids(get(client, task_kwargs='{"feed": 8}')) == ["t2"]
    assert task_ids(get(client, task_args="[8]")) == ["t1"]
    assert task_ids(get(client, result='{"ok": true}')) == ["t2"]
    assert task_ids(get(client, metadata='{"tenant": 3}')) == []


def test_bare_dates_cover_whole_days_in_the_project_time_zone(client, make, settings):
    berlin = dt.timezone(dt.timedelta(hours=1))  # Europe/Berlin in winter (tests' TIME_ZONE)
    early = make("early")
    late = make("late")
    next_day = make("next-day")
    set_created_at(early, dt.datetime(2026, 1, 10, 0, 5, tzinfo=berlin))
    set_created_at(late, dt.datetime(2026, 1, 10, 23, 55, tzinfo=berlin))
    set_created_at(next_day, dt.datetime(2026, 1, 11, 0, 5, tzinfo=berlin))

    day = {"start_date": "2026-01-10", "end_date": "2026-01-10"}
    assert sorted(task_ids(get(client, **day))) == ["early", "late"]
    instant = {"start_date": "2026-01-10T23:00:00+01:00", "end_date": "2026-01-11T00:05:00+01:00"}
    assert sorted(task_ids(get(client, **instant))) == ["late", "next-day"]


def test_ordering_with_id_tie_breaker_gives_stable_pages(client, make):
    same_time = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    for number in range(7):
        set_created_at(make(f"row-{number}"), same_time)
    seen = []
    for page in (1, 2, 3):
        seen += task_ids(get(client, ordering="-created_at", page_size=3, page=page))
    assert sorted(seen) == [f"row-{n}" for n in range(7)]
    assert task_ids(get(client, ordering="created_at", page_size=7)) == [
        f"row-{n}" for n in range(7)
    ]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"status": "DONE"}, "status"),
        ({"created_by": "abc"}, "created_by"),
        ({"created_by": "1.5"}, "created_by"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-01"}, "end_date"),
        ({"metadata": "{not json"}, "metadata"),
        ({"metadata": "[1, 2]"}, "metadata"),
        ({"task_kwargs": '"text"'}, "task_kwargs"),
        ({"task_args": '{"a": 1}'}, "task_args"),
        ({"result": "{"}, "result"),
        ({"ordering": "module"}, "ordering"),
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page_size": "-1"}, "page_size"),
        ({"page_size": "101"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"include_metadata": "maybe"}, "include_metadata"),
        ({"metadata_fields": ","}, "metadata_fields"),
    ],
)
def test_bad_input_is_400_naming_the_parameter(client, make, params, parameter):
    make("row")
    response = get(client, **params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert parameter in body and parameter in body["detail"]


def test_page_size_default_and_maximum(client, make, settings):
    for number in range(12):
        make(f"r{number}")
    body = get(client).json()
    assert body["count"] == 12 and len(body["results"]) == 10
    assert body["next"] and body["previous"] is None
    settings.AGENTCORE_TASK_API_PAGE_SIZE = 5
    settings.AGENTCORE_TASK_API_MAX_PAGE_SIZE = 6
    assert len(get(client).json()["results"]) == 5
    assert get(client, page_size=7).status_code == 400


def test_list_items_carry_the_execution_fields_and_metadata(client, make, alice):
    make("row", metadata={"progress_percent": 40, "progress_message": "Parsing…"})
    (item,) = get(client).json()["results"]
    assert set(item) == {
        "id", "task_id", "task_name", "module", "status", "created_at", "started_at",
        "finished_at", "created_by_id", "created_by_username", "duration", "queue_wait",
        "is_completed", "is_running", "metadata",
    }  # fmt: skip
    assert item["created_by_username"] == "alice"
    assert item["metadata"]["progress_percent"] == 40


def test_include_metadata_false_answers_null_and_leaves_the_column_unloaded(client, make):
    make("row", metadata={"big": "x" * 100})
    with CaptureQueriesContext(connection) as queries:
        (item,) = get(client, include_metadata="off").json()["results"]
    assert "metadata" in item and item["metadata"] is None  # the original's answer: key kept
    select = next(q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"])
    assert '"metadata"' not in select


def test_metadata_fields_keeps_only_those_keys_in_sql(client, make):
    make("row", metadata={"progress_percent": 5, "progress_step": "prepare", "huge": "x" * 50})
    with CaptureQueriesContext(connection) as queries:
        response = get(client, metadata_fields="progress_percent,progress_step,absent")
    (item,) = response.json()["results"]
    assert item["metadata"] == {"progress_percent": 5, "progress_step": "prepare"}
    select = next(q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"])
    assert "jsonb_each" in select


def test_list_query_count_does_not_grow_with_page_size(client, make):
    for number in range(3):
        make(f"small-{number}")
    with CaptureQueriesContext(connection) as small:
        get(client, page_size=3)
    for number in range(40):
        make(f"large-{number}")
    with CaptureQueriesContext(connection) as large:
        get(client, page_size=43)
    assert len(small.captured_queries) == len(large.captured_queries) <= 2


def test_metadata_containment_can_use_the_gin_index(make):
    make("row", metadata={"tenant": 1})
    queryset = list_task_executions(metadata={"tenant": 1})
    # A tiny table is cheaper to scan: forbid scans that ignore the condition, as on a big one.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    plan = queryset.explain()
    assert "agentcore_task_meta_gin" in plan


def test_list_task_executions_accepts_python_values(make, alice):
    make("p1", module="m", metadata={"tenant": 9})
    make("p2", module="n")
    assert [r.task_id for r in list_task_executions(module="m", created_by=alice)] == ["p1"]
    assert [r.task_id for r in list_task_executions(metadata={"tenant": 9})] == ["p1"]
    assert list_task_executions(start_date=dt.date(2000, 1, 1)).count() == 2
    with pytest.raises(ValueError, match="status"):
        list_task_executions(status="NOPE")
    with pytest.raises(TypeError, match="colour"):
        list_task_executions(colour="red")


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"metadata": '{"a": "x\\u0000y"}'}, "metadata"),
        ({"metadata": '{"a": NaN}'}, "metadata"),
        ({"result": '"\\ud800"'}, "result"),
        ({"module": "a\x00b"}, "module"),
        ({"start_date": "2026-01-01T00:00:00-23:00"}, None),
    ],
)
def test_values_postgresql_cannot_take_are_400_not_500(client, make, params, parameter):
    make("row")
    response = get(client, **params)
    if parameter is None:  # an offset PostgreSQL refuses is converted to UTC, not refused
        assert response.status_code == 200
    else:
        assert response.status_code == 400 and parameter in response.json()


def test_nul_in_a_task_id_is_400(client):
    assert client.get(BASE + "status/?task_id=a%00b").status_code == 400


def test_cursor_pages_walk_every_row_once_without_counting(client, make):
    same_time = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    for number in range(9):
        row = make(f"c{number}")
        set_created_at(row, same_time if number < 5 else same_time + dt.timedelta(minutes=number))
    url, seen = BASE + "?cursor=&page_size=4", []
    with CaptureQueriesContext(connection) as queries:
        while url:
            body = client.get(url).json()
            assert body["count"] is None
            seen += [item["task_id"] for item in body["results"]]
            url = body["next"]
    assert sorted(seen) == sorted(f"c{n}" for n in range(9)) and len(seen) == 9
    assert seen[:4] == ["c8", "c7", "c6", "c5"]
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


@pytest.mark.parametrize(
    "params",
    [{"cursor": "garbage"}, {"cursor": "", "page": "2"}, {"cursor": "", "ordering": "status"}],
)
def test_bad_cursor_requests_are_400(client, make, params):
    make("row")
    response = get(client, **params)
    assert response.status_code == 400 and "cursor" in response.json()


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(row["task_id"] for row in response.json()["results"])


def test_text_filters_ignore_surrounding_spaces_and_a_blank_value_is_no_filter(make, client):
    make("b1", module="billing")
    make("m1", module="mail")
    assert ids(client.get(BASE, {"module": " billing "})) == ["b1"]
    assert ids(client.get(BASE, {"module": " "})) == ["b1", "m1"]
    assert ids(client.get(BASE, {"search": " b1"})) == ["b1"]


@pytest.mark.parametrize(
    ("spelling", "expected"),
    # Every spelling a form's IntegerField takes is accepted (200, never a 400); the
    # scoping rule counts only plain digits as "this user", so the others list nothing.
    [(" {pk} ", ["own"]), ("+{pk}", []), ("{pk}.0", [])],
)
def test_created_by_takes_what_an_integer_field_takes(make, client, alice, spelling, expected):
    make("own", module="m")
    assert ids(client.get(BASE, {"created_by": spelling.format(pk=alice.pk)})) == expected
