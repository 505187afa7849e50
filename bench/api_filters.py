"""List requests through the real view stack against the raw SQL of the same query.

Loads 1,000,000 realistic rows (bench/dataset.py), then for each request shape times p50/p95
of the full DRF request (authentication, filters, scoping, COUNT, page SELECT, serialisation)
and of the SQL that request ran, executed raw on the same connection, and prints each plan.

    python -m bench.api_filters [--rows 1000000] [--repeat 30]
"""

from __future__ import annotations

import argparse
from urllib.parse import urlencode

from bench.common import percentiles, setup_django

CASES = {
    "metadata containment": {"metadata": '{"tenant": 42}'},
    "module + status": {"module": "module_3", "status": "FAILURE"},
    "task_kwargs containment": {"task_kwargs": '{"feed": 1234}'},
    "deep page (module)": {"module": "module_3", "page": 500},
    "no filter, first page": {},
    "module + status, cursor": {"module": "module_3", "status": "FAILURE", "cursor": ""},
    "no filter, cursor": {"cursor": ""},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    options = parser.parse_args()
    setup_django()

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from bench.dataset import ensure_rows

    ensure_rows(options.rows)
    staff, _ = get_user_model().objects.get_or_create(username="bench-staff", is_staff=True)
    client = APIClient()
    client.force_authenticate(staff)

    print(f"{'request':<26}{'api p50':>9}{'api p95':>9}{'sql p50':>9}{'sql p95':>9}{'ratio':>7}")
    plans = []
    for label, params in CASES.items():
        query = {"my_tasks": "false", "page_size": 20, **params}
        url = "/api/v1/tasks/executions/?" + urlencode(query)
        response = client.get(url)
        assert response.status_code == 200, response.content
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        statements = [q["sql"] for q in captured.captured_queries]

        def run_raw(statements: list[str] = statements) -> None:
            with connection.connection.cursor() as cursor:  # psycopg itself, no Django
                for statement in statements:
                    cursor.execute(statement)
                    cursor.fetchall()

        api50, api95 = percentiles(lambda url=url: client.get(url), options.repeat)
        sql50, sql95 = percentiles(run_raw, options.repeat)
        print(
            f"{label:<26}{api50:>8.1f}ms{api95:>7.1f}ms{sql50:>7.1f}ms{sql95:>7.1f}ms"
            f"{api50 / sql50:>7.2f}"
        )
        with connection.connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + statements[-1])
            plans.append((label, "\n".join(row[0] for row in cursor.fetchall())))
    for label, plan in plans:
        print(f"\n-- {label}\n{plan}")


if __name__ == "__main__":
    main()
