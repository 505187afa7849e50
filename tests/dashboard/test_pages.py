"""The dashboard's pages through Django's test client: scoping, filters, pages, CSP safety."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import override_settings

from agentcore_task.dashboard import table
from agentcore_task.services.writes import update_progress, update_task_status

PAGES = ("/tasks/", "/tasks/executions/")


def _ids(response: Any) -> set[int]:
    return {int(pk) for pk in re.findall(rb'<tr data-execution-id="(\d+)"', response.content)}


def test_anonymous_visitors_go_to_the_hosts_login_url(client: Any, make_execution: Any) -> None:
    row = make_execution()
    for url in (*PAGES, f"/tasks/executions/{row.pk}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"


@override_settings(LOGIN_URL="/somewhere/else/")
def test_the_login_url_is_the_hosts_setting(client: Any, db: None) -> None:
    assert client.get("/tasks/")["Location"] == "/somewhere/else/?next=/tasks/"


def test_each_user_sees_only_their_own_rows_on_every_page(
    login: Any, alice: Any, bob: Any, staff: Any, make_execution: Any
) -> None:
    mine = make_execution(created_by=alice, task_name="tests.alice_only")
    theirs = make_execution(created_by=bob, task_name="tests.bob_only")
    for row in (mine, theirs):
        update_task_status(row.task_id, "STARTED")

    client = login(alice)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200
        assert _ids(response) == {mine.pk}, url
        assert b"tests.bob_only" not in response.content
    assert client.get(f"/tasks/executions/{mine.pk}/").status_code == 200
    hidden = client.get(f"/tasks/executions/{theirs.pk}/")
    assert hidden.status_code == 404
    assert b"tests.bob_only" not in hidden.content
    assert b"No such execution" in hidden.content
    # Asking for bob's rows by filter shows none of them (a 403, as from the API).
    assert _ids(client.get(f"/tasks/executions/?created_by={bob.pk}")) == set()

    client = login(staff)
    assert _ids(client.get("/tasks/executions/")) == {mine.pk, theirs.pk}
    assert _ids(client.get("/tasks/executions/?mine=1")) == set()
    assert client.get(f"/tasks/executions/{theirs.pk}/").status_code == 200


def test_the_overview_counts_only_visible_rows(
    login: Any, alice: Any, bob: Any, make_execution: Any
) -> None:
    for _ in range(3):
        make_execution(created_by=bob)
    failed = make_execution(created_by=alice, task_name="tests.slow")
    update_task_status(failed.task_id, "STARTED")
    update_task_status(failed.task_id, "FAILURE", error="boom")
    make_execution(created_by=alice)  # PENDING

    page = login(alice).get("/tasks/?window=hour").content.decode()
    assert re.search(r"last hour: <span title=\"2\">2</span> in all", page)
    failures = r"status-failure\">FAILURE</span>\s*<span class=\"count-number\" title=\"1\""
    assert re.search(failures, page)
    assert "Oldest pending: <time" in page
    assert "tests.slow" in page  # the slowest-tasks table
    assert 'role="img"' in page


def test_an_unknown_window_is_a_400_that_says_so(login: Any, alice: Any) -> None:
    response = login(alice).get("/tasks/?window=year")
    assert response.status_code == 400
    assert b"Choose a window of hour, day or week" in response.content


def test_filters_narrow_the_table_and_stay_in_the_links(
    login: Any, alice: Any, make_execution: Any
) -> None:
    wanted = make_execution(
        created_by=alice, module="billing", metadata={"tenant": 7}, task_kwargs={"feed": 3}
    )
    update_task_status(wanted.task_id, "STARTED")
    other = make_execution(created_by=alice, module="billing", metadata={"tenant": 8})
    make_execution(created_by=alice, module="reports", metadata={"tenant": 7})
    client = login(alice)

    assert _ids(client.get("/tasks/executions/?module=billing")) == {wanted.pk, other.pk}
    assert _ids(client.get('/tasks/executions/?metadata={"tenant":7}&module=billing')) == {
        wanted.pk
    }
    assert _ids(client.get('/tasks/executions/?task_kwargs={"feed":3}')) == {wanted.pk}
    assert _ids(client.get("/tasks/executions/?status=STARTED&status=RETRY")) == {wanted.pk}
    response = client.get("/tasks/executions/?status=STARTED&module=billing")
    page = response.content.decode()
    assert 'value="STARTED" checked' in page
    assert 'value="billing"' in page
    kept = "module%3Dbilling%26status%3DSTARTED"
    assert f'href="/tasks/executions/{wanted.pk}/?from={kept}"' in page
    detail = client.get(f"/tasks/executions/{wanted.pk}/?from={kept}")
    assert b'href="/tasks/executions/?module=billing&amp;status=STARTED"' in detail.content


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("metadata=not-json", "metadata"),
        ("status=DONE", "status"),
        ("start_date=yesterday", "start_date"),
        ("created_by=abc", "created_by"),
        ("after=forged", "after"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(
    login: Any, alice: Any, query: str, name: str
) -> None:
    response = login(alice).get(f"/tasks/executions/?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    message = re.search(rf'<[^>]+ id="error-{name}"[^>]*>([^<]+)', page)
    assert message is not None, f"no error shown for {name}"
    assert message.group(1).strip()


def test_a_bad_page_link_names_its_parameter(login: Any, alice: Any) -> None:
    page = login(alice).get("/tasks/executions/?after=forged").content.decode()
    assert "after=" in page  # the reader can tell which part of the URL is wrong


@pytest.mark.parametrize("path", ["/tasks/", "/tasks/executions/", "DETAIL"])
def test_pages_answer_head_requests(login: Any, alice: Any, make_execution: Any, path: str) -> None:
    # Monitors and link checkers send HEAD; require_GET would refuse it with a 405.
    if path == "DETAIL":
        path = f"/tasks/executions/{make_execution(created_by=alice).pk}/"
    client = login(alice)
    assert client.head(path).status_code == 200
    assert client.post(path).status_code == 405


def test_keyset_pages_cover_every_row_once(
    login: Any, alice: Any, make_execution: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table, "PAGE_SIZE", 7)
    rows = {make_execution(created_by=alice).pk for _ in range(17)}
    client = login(alice)
    seen: list[int] = []
    url = "/tasks/executions/?module=tests"
    while url:
        response = client.get(url)
        found = re.findall(rb'<tr data-execution-id="(\d+)"', response.content)
        page_ids = [int(pk) for pk in found]
        assert page_ids == sorted(page_ids, reverse=True)
        seen.extend(page_ids)
        older = re.search(rb'<a href="\?([^"]+)" rel="next">', response.content)
        url = f"/tasks/executions/?{older.group(1).decode().replace('&amp;', '&')}" if older else ""
        if older:
            assert b"module=tests" in older.group(1)
        # Live rows follow the page's own rows: an older page asks the API up to its first.
        live = re.search(rb'data-live-query="([^"]+)"', response.content)
        assert live is not None
        assert (b"end_date=" in live.group(1)) == (len(seen) > len(page_ids))
    assert sorted(seen) == sorted(rows)
    assert len(seen) == len(rows)


def test_counts_above_the_cap_are_not_counted_exactly(
    login: Any, alice: Any, make_execution: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table, "COUNT_CAP", 3)
    for _ in range(5):
        make_execution(created_by=alice)
    page = login(alice).get("/tasks/executions/").content.decode()
    assert "More than 3 matching" in page


def test_the_detail_shows_every_field_and_pretty_json(
    login: Any, alice: Any, make_execution: Any
) -> None:
    row = make_execution(created_by=alice, task_kwargs={"feed": 3, "name": "Zoë"})
    update_task_status(row.task_id, "STARTED")
    update_progress(row.task_id, 55, "halfway", "parse")
    update_task_status(row.task_id, "FAILURE", error="ValueError: no", traceback="Traceback: x")
    page = login(alice).get(f"/tasks/executions/{row.pk}/").content.decode()
    for text in (row.task_id, "FAILURE", "ValueError: no", "Traceback: x", "Zoë", "halfway"):
        assert text in page
    assert "{\n  &quot;feed&quot;: 3,\n  &quot;name&quot;: &quot;Zoë&quot;\n}" in page
    assert 'data-copy="field-task_kwargs" hidden' in page
    assert 'aria-valuenow="55"' in page
    # The status history as the trigger wrote it, oldest first, as a timeline.
    timeline = page[page.index('class="timeline"') : page.index("</ol>", page.index("timeline"))]
    statuses = re.findall(r'class="status status-\w+">(\w+)</span>', timeline)
    assert statuses == ["PENDING", "STARTED", "FAILURE"]
    assert timeline.count("<time datetime=") == 3
    assert re.search(r"<dt>Queue wait</dt><dd data-field=\"queue_wait\">\d", page)
    assert "<dt>Worker</dt>" in page and "<dt>Queue</dt>" in page
    assert "Retry chain" not in page  # no retry of, no retries
    assert 'class="action' not in page  # alice is read-only


class _InlineFinder(HTMLParser):
    """Collect what a strict CSP would block: inline scripts, styles, handlers, style attrs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script":
            if not names.get("src"):
                self.problems.append("inline <script>")
            self.scripts.append(names.get("src") or "")
        if tag == "style":
            self.problems.append("<style> element")
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"{name}= on <{tag}>")
            if name in ("href", "src") and (names[name] or "").startswith(("http", "//")):
                self.problems.append(f"external {name} on <{tag}>")


def test_pages_have_nothing_inline_and_load_from_the_project_only(
    login: Any, alice: Any, make_execution: Any
) -> None:
    row = make_execution(created_by=alice)
    client = login(alice)
    for url in (*PAGES, f"/tasks/executions/{row.pk}/", "/tasks/executions/999999/"):
        response = client.get(url)
        assert "script-src 'self'" in response["Content-Security-Policy"]
        finder = _InlineFinder()
        finder.feed(response.content.decode())
        assert finder.problems == [], url
        assert finder.scripts == ["/static/agentcore_task/dashboard/dashboard.js"]


def test_the_api_mount_point_and_its_streams_come_from_the_urlconf(
    login: Any, alice: Any, make_execution: Any
) -> None:
    row = make_execution(created_by=alice)
    client = login(alice)
    table = client.get("/tasks/executions/").content
    assert b'data-api="/api/v1/tasks/executions/"' in table
    assert b'data-stream="/api/v1/tasks/executions/stream/"' in table
    detail = client.get(f"/tasks/executions/{row.pk}/").content.decode()
    assert f'data-stream="/api/v1/tasks/executions/{row.pk}/stream/"' in detail


@override_settings(ROOT_URLCONF="tests.dashboard.urls_without_api")
def test_without_the_api_mounted_the_pages_render_without_live_updates(
    login: Any, alice: Any, make_execution: Any
) -> None:
    row = make_execution(created_by=alice)
    client = login(alice)
    for url in (*PAGES, f"/tasks/executions/{row.pk}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"data-api=" not in response.content
        assert b"data-stream=" not in response.content


def test_every_scrollable_block_of_the_detail_is_keyboard_reachable(
    login: Any, alice: Any, make_execution: Any
) -> None:
    # Long errors, tracebacks and JSON scroll inside their box: a keyboard user needs focus
    # there to scroll them (axe's scrollable-region-focusable, a serious violation).
    row = make_execution(created_by=alice)
    update_task_status(row.task_id, "STARTED")
    update_task_status(row.task_id, "FAILURE", error="E\n" * 200, traceback="T\n" * 200)
    page = login(alice).get(f"/tasks/executions/{row.pk}/").content.decode()
    blocks = re.findall(r"<pre [^>]*>", page)
    assert len(blocks) == 6
    assert all('tabindex="0"' in block for block in blocks), blocks


def test_a_date_filter_given_as_a_datetime_stays_in_its_field(
    login: Any, alice: Any, db: None
) -> None:
    # A date input cannot hold a time: the browser would blank the field (and drop the filter
    # on the next submit) while the table is still filtered by it.
    page = login(alice).get("/tasks/executions/?start_date=2026-11-28T14:30:00&end_date=2026-11-29")
    html = page.content.decode()
    assert re.search(r'name="start_date" type="text" value="2026-11-28T14:30:00"', html)
    assert re.search(r'name="end_date" type="date" value="2026-11-29"', html)


def test_asking_for_another_users_rows_without_the_right_is_a_403_that_says_why(
    login: Any, alice: Any, bob: Any, staff: Any, make_execution: Any
) -> None:
    # The API refuses created_by=<someone else> with a 403; an empty table would read as
    # "bob has no executions", which the reader has no right to learn either way.
    make_execution(created_by=bob)
    response = login(alice).get(f"/tasks/executions/?created_by={bob.pk}")
    assert response.status_code == 403
    message = re.search(r'id="error-created_by">([^<]+)', response.content.decode())
    assert message is not None
    assert "your own" in message.group(1)
    assert b"data-api=" not in response.content  # no live rows either
    assert login(alice).get(f"/tasks/executions/?created_by={alice.pk}").status_code == 200
    assert login(staff).get(f"/tasks/executions/?created_by={bob.pk}").status_code == 200
