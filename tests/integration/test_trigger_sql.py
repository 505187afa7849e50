"""The table's triggers as installed by ``agentcore_task.trigger_sql``: ``pgtrigger.ignore``
still lifts them, and none opens a subtransaction for each row it fires on.

Why the second matters: a subtransaction rolled back per row made a transaction writing N
rows cost O(N²) once deferred foreign-key checks were queued (the module's docstring has the
numbers; bench/doorbell_bulk.py measures it). Timing is the benchmark's job; this asserts
the cause is gone from every trigger function of the table.
"""

from __future__ import annotations

import pgtrigger
import pytest
from django.db import connection

from agentcore_task.models import TaskExecution
from agentcore_task.status import TaskStatus

pytestmark = pytest.mark.django_db

TRIGGER_FUNCTIONS = """
SELECT t.tgname, p.prosrc
FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
WHERE t.tgrelid = 'agentcore_task_execution'::regclass AND NOT t.tgisinternal
ORDER BY t.tgname
"""


def _status(row: TaskExecution) -> str:
    return TaskExecution.objects.values_list("status", flat=True).get(pk=row.pk)


def _raw_status(row: TaskExecution, status: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE agentcore_task_execution SET status = %s WHERE id = %s", [status, row.pk]
        )


def test_pgtrigger_ignore_lifts_the_status_rules_for_its_block(make_execution):
    row = make_execution()
    _raw_status(row, TaskStatus.SUCCESS)

    _raw_status(row, TaskStatus.STARTED)
    assert _status(row) == TaskStatus.SUCCESS  # the rules keep a finished row finished

    with pgtrigger.ignore("agentcore_task.TaskExecution:agentcore_task_status_rules"):
        _raw_status(row, TaskStatus.STARTED)
    assert _status(row) == TaskStatus.STARTED

    _raw_status(row, TaskStatus.PENDING)  # after the block the rules hold again
    assert _status(row) == TaskStatus.PENDING
    _raw_status(row, TaskStatus.FAILURE)
    _raw_status(row, TaskStatus.PENDING)
    assert _status(row) == TaskStatus.FAILURE


def test_no_trigger_function_of_the_table_opens_a_subtransaction():
    with connection.cursor() as cursor:
        cursor.execute(TRIGGER_FUNCTIONS)
        functions = dict(cursor.fetchall())
    assert {name.rsplit("_", 1)[0] for name in functions} == {
        "pgtrigger_agentcore_task_status_rules",
        "pgtrigger_agentcore_task_notify_insert",
        "pgtrigger_agentcore_task_notify_status",
    }
    for name, source in functions.items():
        # django-pgtrigger's own check reads its setting in an EXCEPTION block (a
        # subtransaction, rolled back when the setting is unset); ours reads it plainly.
        assert "_pgtrigger_should_ignore" not in source, name
        assert "EXCEPTION" not in source.upper(), name
        assert "current_setting('pgtrigger.ignore', true)" in source, name
