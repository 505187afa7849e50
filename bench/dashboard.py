"""Server time of the dashboard's pages on a large table, against the API in the same run.

Loads 1,000,000 realistic rows (bench/dataset.py), then times p50/p95 of each page through
the whole Django stack (middleware, login, queries, templates) for a staff user, who sees
every row, and for an ordinary user, who sees their own (~18,000). Each page is set beside
the API request that reads the same rows (the list with a cursor, or stats), as a ratio.
The table count stops at ``dashboard.table.COUNT_CAP``, so no page counts a million rows.

    python -m bench.dashboard [--rows 1000000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import time
from urllib.parse import urlencode

from bench.common import percentiles, setup_django

API = "/api/v1/tasks/executions/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    options = parser.parse_args()
    setup_django()

    from django.contrib.auth import get_user_model
    from django.test import Client

    from agentcore_task.models import TaskExecution
    from bench.dataset import ensure_rows

    ensure_rows(options.rows)
    users = get_user_model().objects
    staff, _ = users.get_or_create(username="bench-staff", is_staff=True)
    owner = users.get(username="bench-user-7")
    detail_pk = (
        TaskExecution.objects.filter(created_by=owner, status="SUCCESS")
        .values_list("pk", flat=True)
        .first()
    )
    deep = "/tasks/executions/?module=module_3"
    staff_client, owner_client = Client(), Client()
    staff_client.force_login(staff)
    owner_client.force_login(owner)
    # A cursor deep into the table: follow "Older" links 20 pages down.
    for _ in range(20):
        page = staff_client.get(deep).content.decode()
        marker = page.index('rel="next"')
        deep = "/tasks/executions/" + page[page.rindex('href="', 0, marker) + 6 : marker - 2]
        deep = deep.replace("&amp;", "&")

    def since(seconds: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - seconds))

    stats, page_50 = f"{API}stats/?", {"cursor": "", "page_size": 50}
    day = {"granularity": "hour", "include": "durations", "start_date": since(86400)}
    week = {"granularity": "day", "include": "durations", "start_date": since(7 * 86400)}
    cases = [
        ("overview, day", "/tasks/", stats, day),
        ("overview, week", "/tasks/?window=week", stats, week),
        ("executions, first page", "/tasks/executions/", API + "?", page_50),
        (
            "executions, status",
            "/tasks/executions/?status=FAILURE&status=RETRY",
            API + "?",
            {"status": "FAILURE,RETRY", **page_50},
        ),
        (
            "executions, metadata",
            '/tasks/executions/?metadata={"tenant":42}',
            API + "?",
            {"metadata": '{"tenant":42}', **page_50},
        ),
        ("executions, page 21", deep, API + "?", {"module": "module_3", **page_50}),
        ("execution detail", f"/tasks/executions/{detail_pk}/", f"{API}{detail_pk}/?", {}),
    ]
    print(f"{options.rows:,} rows; ms, p50 / p95; ratio = page p50 / API p50 (same rows)")
    print(f"{'page':<26}{'user':<8}{'page p50':>9}{'p95':>8}{'api p50':>9}{'ratio':>7}")
    for label, page_url, api_base, api_params in cases:
        for who, client in (("staff", staff_client), ("owner", owner_client)):
            everyone = {"my_tasks": "false"} if who == "staff" and "detail" not in label else {}
            api_for = api_base + urlencode({**everyone, **api_params})
            response = client.get(page_url)
            assert response.status_code == 200, (page_url, response.status_code)
            assert client.get(api_for).status_code == 200, api_for
            p50, p95 = percentiles(lambda u=page_url, c=client: c.get(u), options.repeat)
            a50, _ = percentiles(lambda u=api_for, c=client: c.get(u), options.repeat)
            print(f"{label:<26}{who:<8}{p50:>8.1f} {p95:>7.1f} {a50:>8.1f} {p50 / a50:>6.2f}")
    # Pages that only staff (or the holders of a permission) may open, beside their API.
    for label, page_url, api_for in (
        ("locks", "/tasks/locks/", "/api/v1/tasks/locks/"),
        ("actions (audit trail)", "/tasks/actions/", "/api/v1/tasks/actions/?page_size=50"),
    ):
        assert staff_client.get(page_url).status_code == 200, page_url
        assert staff_client.get(api_for).status_code == 200, api_for
        p50, p95 = percentiles(lambda u=page_url: staff_client.get(u), options.repeat)
        a50, _ = percentiles(lambda u=api_for: staff_client.get(u), options.repeat)
        print(f"{label:<26}{'staff':<8}{p50:>8.1f} {p95:>7.1f} {a50:>8.1f} {p50 / a50:>6.2f}")


if __name__ == "__main__":
    main()
