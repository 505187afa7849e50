"""Property: any Python value, once made JSON-safe, is stored by PostgreSQL as converted."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings

from agentcore_task.jsonsafe import to_json_safe
from agentcore_task.models import TaskExecution
from agentcore_task.services.registration import register_task_execution
from agentcore_task.services.tracker import TaskTracker
from tests.unit.test_jsonsafe import values

_ids = itertools.count()


def as_numbers(value: Any) -> Any:
    """Compare numbers as decimals: jsonb keeps numbers as ``numeric`` and prints 2.5e+16 as an
    integer literal, so a float may come back as an int of the same value."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(value, list):
        return [as_numbers(item) for item in value]
    return {key: as_numbers(item) for key, item in value.items()}


@pytest.mark.django_db
@override_settings(AGENTCORE_TASK_STRICT=True, AGENTCORE_TASK_REDACT_KEYS=[])
@settings(
    deadline=None, max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=values)
def test_any_value_is_stored_by_postgresql_as_converted(value: Any) -> None:
    task_id = f"property-{next(_ids)}"
    expected = json.loads(json.dumps(to_json_safe(value)))

    register_task_execution(task_id, "t.n", "m", task_args=[value], metadata={"v": value})
    TaskTracker.update_task_status(task_id, "SUCCESS", result={"v": value})

    stored = TaskExecution.objects.get(task_id=task_id)
    assert as_numbers(stored.task_args) == as_numbers([expected])
    assert as_numbers(stored.metadata) == as_numbers({"v": expected})
    assert as_numbers(stored.result) == as_numbers({"v": expected})
