"""OpenAPI details django-filter cannot describe on its own.

The JSON containment filters take a JSON document in a query parameter: OpenAPI says that
with ``content: application/json`` rather than a ``schema``, so clients and fuzzers send a
serialised document instead of a plain string. Ids are integers.
"""

from __future__ import annotations

from typing import Any

from agentcore_task.api.openapi import AutoSchema

JSON_QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "metadata": {"type": "object", "additionalProperties": True},
    "task_kwargs": {"type": "object", "additionalProperties": True},
    "task_args": {"type": "array", "items": {}},
    "result": {},
}
INTEGER_PARAMETERS = frozenset({"id", "created_by"})


class TaskExecutionSchema(AutoSchema):
    """AutoSchema with JSON-valued query parameters and integer ids."""

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_parameters()
        for parameter in parameters:
            name = parameter["name"]
            if parameter["in"] == "query" and name in JSON_QUERY_PARAMETERS:
                parameter.pop("schema", None)
                parameter.pop("style", None)
                parameter.pop("explode", None)
                parameter["content"] = {"application/json": {"schema": JSON_QUERY_PARAMETERS[name]}}
            elif name in INTEGER_PARAMETERS:
                parameter["schema"] = {"type": "integer", "minimum": 1 if name == "id" else 0}
        return parameters
