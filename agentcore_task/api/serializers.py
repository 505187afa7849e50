"""What a list item and a detail look like (the execution's fields, plus metadata on list items).

``metadata`` is shaped by the request's ``include_metadata``/``metadata_fields`` in one place,
:class:`agentcore_task.api.metadata.ShapedMetadataField`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import serializers

from agentcore_task.api.metadata import ShapedMetadataField
from agentcore_task.api.openapi import OpenApiTypes, extend_schema_field
from agentcore_task.models import TaskExecution
from agentcore_task.services.chains import retries_of, retry_root

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
    "queue_wait",
    "is_completed",
    "is_running",
]


@extend_schema_field(JSON_OBJECT)
class MetadataField(serializers.JSONField):
    """Metadata is always a JSON object."""


@extend_schema_field(OpenApiTypes.ANY)
class AnyJSONField(serializers.JSONField):
    """A JSON value of any shape (a task's result)."""


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "status": {"type": "string"},
                "at": {"type": "string", "format": "date-time"},
                "worker": {"type": "string"},
            },
            "required": ["status", "at"],
        },
    }
)
class StatusHistoryField(serializers.JSONField):
    """The status transitions, oldest first (at most 20)."""


class TaskExecutionListSerializer(serializers.ModelSerializer[TaskExecution]):
    """A list item. ``metadata`` is null or narrowed as the request asks (``include_metadata``,
    ``metadata_fields``); the list query leaves out or narrows the column in SQL to match."""

    created_by_id = serializers.IntegerField(read_only=True, allow_null=True)
    created_by_username = serializers.CharField(read_only=True, allow_null=True)
    duration = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Seconds from start to finish (or to now)."
    )
    queue_wait = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="Seconds from registration to start (or to now while PENDING).",
    )
    is_completed = serializers.BooleanField(read_only=True)
    is_running = serializers.BooleanField(read_only=True)
    metadata = ShapedMetadataField(required=False)

    class Meta:
        model = TaskExecution
        fields = [*LIST_FIELDS, "metadata"]
        read_only_fields = fields


class TaskExecutionDetailSerializer(TaskExecutionListSerializer):
    """A detail: everything recorded about one execution."""

    created_by = serializers.IntegerField(
        source="created_by_id", read_only=True, allow_null=True, help_text="Same as created_by_id."
    )
    task_args = AnyJSONField(read_only=True, help_text="Positional arguments (a JSON array).")
    task_kwargs = MetadataField(read_only=True)
    result = AnyJSONField(read_only=True, allow_null=True)
    retry_of = serializers.IntegerField(
        source="retry_of_id", read_only=True, allow_null=True, help_text="The row this retries."
    )
    retry_root = serializers.SerializerMethodField(
        help_text="The first execution of the retry chain; null when this is no retry."
    )
    retries = serializers.SerializerMethodField(help_text="Ids of the rows retrying this one.")
    status_history = StatusHistoryField(read_only=True)

    class Meta(TaskExecutionListSerializer.Meta):
        fields = [
            *LIST_FIELDS,
            "updated_at",
            "timed_out",
            "task_args",
            "task_kwargs",
            "result",
            "error",
            "traceback",
            "created_by",
            "metadata",
            "worker",
            "queue",
            "retry_of",
            "retry_root",
            "retries",
            "status_history",
        ]
        read_only_fields = fields

    def get_retries(self, instance: TaskExecution) -> list[int]:
        annotated = getattr(instance, "retry_ids", None)  # the API's queryset reads them along
        return list(annotated) if annotated is not None else retries_of(instance)

    def get_retry_root(self, instance: TaskExecution) -> int | None:
        return retry_root(instance)


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error body: ``detail``, plus per-parameter messages on a 400."""

    detail = serializers.CharField()
    error = serializers.CharField(
        required=False, help_text="The same message as ``detail``, for clients that read ``error``."
    )


class StatusCountsSerializer(serializers.Serializer[Any]):
    """How many executions there are, in total and in each status."""

    total = serializers.IntegerField(min_value=0)
    pending = serializers.IntegerField(min_value=0)
    started = serializers.IntegerField(min_value=0)
    success = serializers.IntegerField(min_value=0)
    failure = serializers.IntegerField(min_value=0)
    retry = serializers.IntegerField(min_value=0)
    revoked = serializers.IntegerField(min_value=0)


class BucketStartField(serializers.DateTimeField):
    """A bucket's first instant in the server's time zone, or in UTC when that zone's offset
    then had seconds (local mean time, e.g. Africa/Monrovia before 1972), which RFC 3339
    date-times cannot express."""

    def to_representation(self, value: Any) -> Any:
        local = self.enforce_timezone(value) if isinstance(value, dt.datetime) else None
        offset = local.utcoffset() if local is not None else None
        if local is not None and offset is not None and offset % dt.timedelta(minutes=1):
            return local.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return super().to_representation(value)


class SeriesBucketSerializer(StatusCountsSerializer):
    """One bucket of the time series, counted by status."""

    start = BucketStartField(
        help_text="First instant of the bucket (local midnight for day/week/month)."
    )


class DurationStatsSerializer(serializers.Serializer[Any]):
    """Run times in seconds of one task name's finished runs, and how often it fails."""

    count = serializers.IntegerField(
        min_value=0, help_text="Finished runs with both started_at and finished_at."
    )
    avg = serializers.FloatField(allow_null=True, help_text="Mean run time, seconds.")
    p50 = serializers.FloatField(allow_null=True, help_text="Median run time, seconds.")
    p95 = serializers.FloatField(allow_null=True, help_text="95th percentile, seconds.")
    max = serializers.FloatField(allow_null=True, help_text="Longest run, seconds.")
    failure_rate = serializers.FloatField(
        allow_null=True,
        min_value=0,
        max_value=1,
        help_text="failure / (success + failure); null when neither occurred.",
    )
    queue_wait_p50 = serializers.FloatField(
        allow_null=True, help_text="Median seconds from registration to start."
    )
    queue_wait_p95 = serializers.FloatField(
        allow_null=True, help_text="95th percentile of the queue wait, seconds."
    )


class TaskStatsSerializer(StatusCountsSerializer):
    """Counts by status in total, by module and by task name; a series and durations when asked."""

    by_module = serializers.DictField(child=StatusCountsSerializer())
    by_task_name = serializers.DictField(child=StatusCountsSerializer())
    series = serializers.ListField(
        child=SeriesBucketSerializer(),
        required=False,
        help_text="Only with granularity: every bucket of the window, oldest first.",
    )
    durations = serializers.DictField(
        child=DurationStatsSerializer(),
        required=False,
        help_text="Only with include=durations: per task name.",
    )
