"""The executions endpoints: a read-only router viewset with the extra actions (my-tasks,
by-task-id, status, sync, stats)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import F, QuerySet
from django.utils.module_loading import import_string
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ErrorDetail, NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from agentcore_task import conf
from agentcore_task.api.errors import api_exception_handler
from agentcore_task.api.filters import TaskExecutionFilter
from agentcore_task.api.metadata import CONTEXT_KEY, metadata_controls, read_flag
from agentcore_task.api.openapi import (
    OpenApiParameter,
    OpenApiTypes,
    extend_schema,
    extend_schema_view,
)
from agentcore_task.api.operate import OperateActions
from agentcore_task.api.pagination import TaskExecutionPagination
from agentcore_task.api.schema import JSON_QUERY_PARAMETERS as JSON_PARAMETERS
from agentcore_task.api.schema import TaskExecutionSchema
from agentcore_task.api.scoping import is_whole_number, scope_list
from agentcore_task.api.serializers import (
    ErrorSerializer,
    TaskExecutionDetailSerializer,
    TaskExecutionListSerializer,
    TaskStatsSerializer,
)
from agentcore_task.models import TaskExecution
from agentcore_task.services.celery_sync import sync_execution
from agentcore_task.services.stats import (
    DEFAULT_BUCKETS,
    FILTERS,
    INCLUDES,
    MAX_BUCKETS,
    StatsArgumentError,
    get_task_stats,
)

# On status/?sync=true, a sync that could not read Celery's result backend still answers 200
# with the row as recorded (pollers keep working); this header says why it is not fresher.
SYNC_ERROR_HEADER = "X-Agentcore-Sync-Error"

ERRORS = {status: ErrorSerializer for status in (400, 401, 403, 404)}
# The original's metadata controls: on the list and on every detail-style response.
METADATA_PARAMETERS = [
    OpenApiParameter(
        "include_metadata",
        OpenApiTypes.STR,
        enum=["true", "false", "1", "0", "yes", "no", "on", "off"],
        description='false/0/no/off answers "metadata": null (in lists the column is then not '
        "even loaded).",
    ),
    OpenApiParameter(
        "metadata_fields",
        OpenApiTypes.STR,
        description="Comma-separated top-level metadata keys to keep, e.g. "
        "progress_percent,progress_message (in lists computed in SQL).",
    ),
]
LIST_PARAMETERS = [
    OpenApiParameter(
        "my_tasks",
        OpenApiTypes.STR,
        description="'false' (or 0/no/off) lists every user's executions: needs staff status "
        "or agentcore_task.view_all_taskexecution. Anything else, or absent: your own, "
        "even for a superuser.",
    ),
    *METADATA_PARAMETERS,
]

STATS_PARAMETERS = [
    LIST_PARAMETERS[0],
    OpenApiParameter(
        "granularity",
        OpenApiTypes.STR,
        enum=list(DEFAULT_BUCKETS),
        description="Add `series`: counts per hour, day, week (from Monday) or month of the "
        "server's TIME_ZONE from start_date to end_date, empty buckets included, at most "
        f"{MAX_BUCKETS}. Without start_date: the last 24 hours, 30 days, 12 weeks or 12 "
        "months, and then every count in the response covers that window.",
    ),
    OpenApiParameter(
        "include",
        OpenApiTypes.STR,
        enum=sorted(INCLUDES),
        description="durations: add `durations`, per task name the count, average, median, "
        "95th percentile and maximum run time in seconds of finished runs, and the failure "
        "rate.",
    ),
    OpenApiParameter("ordering", exclude=True),
]


def _flag(request: Request, name: str, default: bool) -> bool:
    return read_flag(request.query_params, name, default)


class SyncUnavailable(APIException):
    """Celery's result backend could not be read; the body also carries ``error``."""

    status_code = 503
    default_code = "sync_unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.detail = {"detail": ErrorDetail(message), "error": ErrorDetail(message)}


def _not_found(message: str) -> NotFound:
    error = NotFound(message)
    error.detail = {"detail": ErrorDetail(message), "error": ErrorDetail(message)}
    return error


@extend_schema_view(
    list=extend_schema(
        parameters=LIST_PARAMETERS,
        responses={200: TaskExecutionListSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(
        parameters=METADATA_PARAMETERS, responses={200: TaskExecutionDetailSerializer, **ERRORS}
    ),
)
class TaskExecutionViewSet(OperateActions, viewsets.ReadOnlyModelViewSet[TaskExecution]):
    """Task executions. The list shows the requesting user's own, staff and superusers too:
    my_tasks=false (or created_by) asks for others', which needs staff status or
    agentcore_task.view_all_taskexecution."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = TaskExecutionFilter
    pagination_class = TaskExecutionPagination
    # Anything up to the next slash, so a malformed id still gets this API's JSON 404 rather
    # than Django's HTML one; get_object() answers 404 for what is not a positive integer.
    lookup_value_regex = r"[^/]+"
    schema = TaskExecutionSchema()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # PostgreSQL text cannot hold NUL: no value with one can match, and sending it fails.
        values = [*request.query_params.lists(), *((k, [v]) for k, v in kwargs.items())]
        for name, items in values:
            if any("\x00" in str(item) for item in items) and name not in JSON_PARAMETERS:
                raise ValidationError({name: ["Enter a value without NUL characters."]})
        # Before any work (a sync), so a malformed control is a 400 that changed nothing.
        self.metadata_controls = metadata_controls(request.query_params)

    def get_serializer_context(self) -> dict[str, Any]:
        controls = getattr(self, "metadata_controls", None)  # absent for schema generation
        return {**super().get_serializer_context(), CONTEXT_KEY: controls}

    def get_object(self) -> TaskExecution:
        if not is_whole_number(str(self.kwargs.get(self.lookup_field, ""))):
            raise NotFound("No execution with that id.")
        return super().get_object()

    def get_permissions(self) -> list[BasePermission]:
        return [import_string(path)() for path in conf.api_permission_classes()]

    def get_exception_handler(self) -> Any:
        return api_exception_handler

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action in ("list", "my_tasks"):
            return TaskExecutionListSerializer
        return TaskExecutionDetailSerializer

    def get_queryset(self) -> QuerySet[TaskExecution]:
        username = get_user_model().USERNAME_FIELD
        rows = TaskExecution.objects.annotate(created_by_username=F(f"created_by__{username}"))
        if self.action == "list":
            return self._list_columns(scope_list(rows, self.request))
        if self.action == "my_tasks":
            return self._list_columns(rows.owned_by(self.request.user))
        return rows.visible_to(self.request.user).with_retry_ids()

    def _list_columns(self, rows: QuerySet[TaskExecution]) -> QuerySet[TaskExecution]:
        """Load only what the list items show: no payload columns, metadata as asked."""
        controls = getattr(self, "metadata_controls", None) or metadata_controls(
            self.request.query_params
        )
        if not controls.include:
            return rows.list_columns(metadata=False)  # type: ignore[attr-defined]
        return rows.list_columns(metadata_keys=controls.keys)  # type: ignore[attr-defined]

    @extend_schema(
        parameters=LIST_PARAMETERS[1:],
        responses={200: TaskExecutionListSerializer(many=True), **ERRORS},
    )
    @action(detail=False, url_path="my-tasks")
    def my_tasks(self, request: Request) -> Response:
        """List the requesting user's executions (the list's filters apply)."""
        if request.query_params.get("created_by", str(request.user.pk)) != str(request.user.pk):
            raise ValidationError({"created_by": ["my-tasks always lists your own executions."]})
        return self.list(request)

    @extend_schema(
        parameters=METADATA_PARAMETERS, responses={200: TaskExecutionDetailSerializer, **ERRORS}
    )
    @action(detail=False, url_path=r"by-task-id/(?P<task_id>[^/]+)")
    def by_task_id(self, request: Request, task_id: str) -> Response:
        """Return one execution by its Celery task id."""
        row = self.get_queryset().filter(task_id=task_id).first()
        if row is None:
            raise _not_found(f"No execution with task id {task_id!r}.")
        return Response(self.get_serializer(row).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("task_id", OpenApiTypes.STR, required=True),
            OpenApiParameter(
                "sync",
                OpenApiTypes.STR,
                enum=["true", "false", "1", "0", "yes", "no", "on", "off"],
                description="Copy the state from Celery first (default true).",
            ),
            *METADATA_PARAMETERS,
        ],
        responses={200: TaskExecutionDetailSerializer, **ERRORS},
    )
    @action(detail=False, url_path="status")
    def status(self, request: Request) -> Response:
        """Return one execution by task id, synced from Celery first unless ``sync=false``."""
        task_id = request.query_params.get("task_id", "").strip()
        if not task_id:
            message = "task_id is required."
            raise ValidationError({"detail": message, "error": message, "task_id": [message]})
        sync = _flag(request, "sync", True)
        row = self.get_queryset().filter(task_id=task_id).first()
        if row is None:
            raise _not_found(f"No execution with task id {task_id!r}.")
        if not sync:
            return Response(self.get_serializer(row).data)
        synced, error = self._synced(row)
        headers = {SYNC_ERROR_HEADER: error} if error else None
        return Response(self.get_serializer(synced).data, headers=headers)

    @extend_schema(
        request=None,
        parameters=METADATA_PARAMETERS,
        responses={200: TaskExecutionDetailSerializer, 503: ErrorSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk: str) -> Response:
        """Copy status, result and error from Celery into the row, then return it.

        503 (``detail`` and ``error``) when Celery's result backend cannot be read: the
        caller asked for a sync and did not get one.
        """
        synced, error = self._synced(self.get_object())
        if error:
            raise SyncUnavailable(error)
        return Response(self.get_serializer(synced).data)

    def _synced(self, row: TaskExecution) -> tuple[TaskExecution, str | None]:
        """Sync ``row`` from Celery, then read it back as the API shows it.

        Returns the row and, when Celery's result backend could not be read (the row is then
        as it was recorded), the reason.
        """
        outcome = sync_execution(row.task_id)
        return self.get_queryset().get(pk=row.pk), outcome.error

    @extend_schema(
        filters=True,
        parameters=STATS_PARAMETERS,
        responses={200: TaskStatsSerializer, **ERRORS},
    )
    @action(detail=False)
    def stats(self, request: Request) -> Response:
        """Count the executions the list would show, by status, module and task name.

        One SQL statement, with the list's scoping (my_tasks, created_by) and filters.
        """
        rows = scope_list(TaskExecution.objects.all(), request)
        params = request.query_params
        # ``status`` may be repeated (OR); every other filter takes one value, the last one.
        filters: dict[str, Any] = {name: params[name] for name in FILTERS if name in params}
        if "status" in params:
            filters["status"] = params.getlist("status")
        try:
            stats = get_task_stats(
                granularity=params.get("granularity"),
                include=params.get("include"),
                queryset=rows,
                **filters,
            )
        except StatsArgumentError as error:
            raise ValidationError(error.errors) from None
        return Response(TaskStatsSerializer(stats).data)
