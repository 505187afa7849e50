"""OpenAPI details django-filter cannot describe on its own.

The JSON containment filters take a JSON document in a query parameter: OpenAPI says that
with ``content: application/json`` rather than a ``schema``, so clients and fuzzers send a
serialised document instead of a plain string. Ids are integers.
"""

from __future__ import annotations

from typing import Any

from agentcore_task.api.openapi import AutoSchema
from agentcore_task.api.serializers import (
    TaskExecutionDetailSerializer,
    TaskExecutionListSerializer,
)

JSON_QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "metadata": {"type": "object", "additionalProperties": True},
    "task_kwargs": {"type": "object", "additionalProperties": True},
    "task_args": {"type": "array", "items": {}},
    "result": {},
}
INTEGER_PARAMETERS = frozenset({"id", "created_by"})


class TaskExecutionSchema(AutoSchema):
    """AutoSchema with JSON-valued query parameters and integer ids."""

    def _map_serializer(self, serializer: Any, direction: str, *args: Any, **kwargs: Any) -> Any:
        schema = super()._map_serializer(serializer, direction, *args, **kwargs)
        # A list item's metadata may be left out (include_metadata=false): not required.
        is_list_item = isinstance(serializer, TaskExecutionListSerializer) and not isinstance(
            serializer, TaskExecutionDetailSerializer
        )
        if is_list_item and "metadata" in schema.get("required", []):
            schema["required"] = [name for name in schema["required"] if name != "metadata"]
        return schema

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
