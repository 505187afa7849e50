"""The live query each page hands its script selects, through the API, the page's own rows.

The script adds and updates rows from the API's answer to ``data-live-query``; if that query
chose other rows than the page (another user's, or everyone's for a user who sees only their
own), the live rows would leak them, or the API would refuse the script with a 403.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from agentcore_task.services.writes import update_task_status


def _page_ids(content: bytes) -> set[int]:
    return {int(pk) for pk in re.findall(rb'<tr data-execution-id="(\d+)"', content)}


def _live_query(content: bytes) -> tuple[str, str] | None:
    api = re.search(rb'data-api="([^"]+)"', content)
    query = re.search(rb'data-live-query="([^"]*)"', content)
    if api is None or query is None:
        return None
    return html.unescape(api.group(1).decode()), html.unescape(query.group(1).decode())


@pytest.mark.parametrize("who", ["alice", "staff", "auditor"])
@pytest.mark.parametrize(
    "query", ["", "mine=1", "created_by=OWN", "created_by=OTHER", "status=STARTED"]
)
def test_the_live_rows_are_the_pages_rows(
    login: Any,
    alice: Any,
    bob: Any,
    staff: Any,
    make_user: Any,
    make_execution: Any,
    who: str,
    query: str,
) -> None:
    auditor = make_user(username="auditor")
    auditor.user_permissions.add(Permission.objects.get(codename="view_all_taskexecution"))
    user = {"alice": alice, "staff": staff, "auditor": auditor}[who]
    for owner in (alice, bob, staff, auditor, None):
        row = make_execution(created_by=owner)  # None: a system run, no creator
        update_task_status(row.task_id, "STARTED")
    query = query.replace("OWN", str(user.pk)).replace("OTHER", str(bob.pk))
    client = login(user)
    for path in (f"/tasks/executions/?{query}", f"/tasks/?{query}"):
        page = client.get(path)
        live = _live_query(page.content)
        if page.status_code == 403:  # another user's rows, refused as the API refuses them
            assert (who, query) == ("alice", f"created_by={bob.pk}")
            assert live is None
            continue
        assert page.status_code == 200
        if live is None:
            continue  # no live rows on this page: nothing to compare
        api, live_query = live
        answer = client.get(f"{api}?{live_query}")
        assert answer.status_code == 200, (path, answer.content[:300])
        assert {item["id"] for item in answer.json()["results"]} == _page_ids(page.content), path
