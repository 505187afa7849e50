"""What a list item and a detail look like (SPEC's fields, plus metadata on list items)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agentcore_task.models import TaskExecution

JSON_OBJECT = {"type": "object", "additionalProperties": True}

LIST_FIELDS = [
    "id",
    "task_id",
    "task_name",
    "module",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "created_by_id",
    "created_by_username",
    "duration",
    "is_completed",
    "is_running",
]


@extend_schema_field(JSON_OBJECT)
class MetadataField(serializers.JSONField):
    """Metadata is always a JSON object."""


@extend_schema_field(OpenApiTypes.ANY)
class AnyJSONField(serializers.JSONField):
    """A JSON value of any shape (a task's result)."""


class TaskExecutionListSerializer(serializers.ModelSerializer[TaskExecution]):
    """A list item. ``metadata`` is dropped or narrowed by the view (``include_metadata``,
    ``metadata_fields``), in SQL."""

    created_by_id = serializers.IntegerField(read_only=True, allow_null=True)
    created_by_username = serializers.CharField(read_only=True, allow_null=True)
    duration = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Seconds from start to finish (or to now)."
    )
    is_completed = serializers.BooleanField(read_only=True)
    is_running = serializers.BooleanField(read_only=True)
    metadata = MetadataField(read_only=True, required=False)

    class Meta:
        model = TaskExecution
        fields = [*LIST_FIELDS, "metadata"]
        read_only_fields = fields

    def to_representation(self, instance: TaskExecution) -> dict[str, Any]:
        subset = getattr(instance, "metadata_subset", None)
        if subset is not None:
            instance.metadata = subset
        return super().to_representation(instance)


class TaskExecutionListWithoutMetadataSerializer(TaskExecutionListSerializer):
    """A list item when ``include_metadata=false``: the column is not even loaded."""

    class Meta(TaskExecutionListSerializer.Meta):
        fields = LIST_FIELDS
        read_only_fields = fields


class TaskExecutionDetailSerializer(TaskExecutionListSerializer):
    """A detail: everything recorded about one execution."""

    created_by = serializers.IntegerField(
        source="created_by_id", read_only=True, allow_null=True, help_text="Same as created_by_id."
    )
    task_args = AnyJSONField(read_only=True, help_text="Positional arguments (a JSON array).")
    task_kwargs = MetadataField(read_only=True)
    result = AnyJSONField(read_only=True, allow_null=True)

    class Meta(TaskExecutionListSerializer.Meta):
        fields = [
            *LIST_FIELDS,
            "updated_at",
            "task_args",
            "task_kwargs",
            "result",
            "error",
            "traceback",
            "created_by",
            "metadata",
        ]
        read_only_fields = fields


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error body: ``detail``, plus per-parameter messages on a 400."""

    detail = serializers.CharField()
    error = serializers.CharField(
        required=False, help_text="The same message, for clients of the original API."
    )
