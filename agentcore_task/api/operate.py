"""``POST executions/{id}/revoke/``, ``{id}/retry/`` and ``executions/bulk/``.

A mixin of the executions viewset, so the endpoints share its routes, its row lookup (a row
the user may not see is a 404) and its error handling. The view only translates HTTP: the
verbs are ``agentcore_task.services.operate``'s, which also write the audit row. A state
that forbids the action (revoking a finished row, retrying an unfinished one or one with
redacted arguments) is a 409 whose ``detail`` says why.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ErrorDetail, ValidationError
from rest_framework.parsers import FormParser
from rest_framework.request import Request
from rest_framework.response import Response

from agentcore_task.api.config import BoundedJSONParser
from agentcore_task.api.openapi import extend_schema
from agentcore_task.api.permissions import require_operate
from agentcore_task.api.scoping import scope_rows
from agentcore_task.api.serializers import ErrorSerializer, TaskExecutionDetailSerializer
from agentcore_task.exceptions import ExecutionStateError, FilterError, RedactedArguments
from agentcore_task.models import TaskExecution
from agentcore_task.services.filters import FILTER_NAMES, parse_filters
from agentcore_task.services.operate import ACTIONS, bulk_operate, retry_execution, revoke_execution

__all__ = ["OperateActions"]

SIGNALS = ["SIGTERM", "SIGKILL", "SIGINT", "SIGQUIT", "SIGUSR1"]
SCOPE_NAMES = ("my_tasks",)
ERRORS = {code: ErrorSerializer for code in (400, 401, 403, 404, 415)}
# bulk/ takes JSON only: a form cannot carry a filter object, and a multipart body of 10,000
# ids would be refused by Django with an HTML page; anything else is a 415. revoke/ and
# retry/ also take a urlencoded form (a few scalar fields), which the dashboard's buttons post.
JSON_ONLY = [BoundedJSONParser]
JSON_OR_FORM = [BoundedJSONParser, FormParser]


class Conflict(APIException):
    """409: the execution's state forbids the action; ``keys`` lists redacted arguments."""

    status_code = 409
    default_code = "conflict"

    def __init__(self, error: ExecutionStateError) -> None:
        super().__init__(str(error))
        detail: dict[str, Any] = {"detail": ErrorDetail(str(error))}
        if isinstance(error, RedactedArguments):
            detail["redacted_keys"] = error.keys
        self.detail = detail


class ConflictSerializer(ErrorSerializer):
    """A 409 body: why, and for a retry refused over redacted arguments, which ones."""

    redacted_keys = serializers.ListField(child=serializers.CharField(), required=False)


class RevokeRequestSerializer(serializers.Serializer[Any]):
    """The body of ``revoke/`` (every field optional)."""

    terminate = serializers.BooleanField(
        default=False, help_text="Also kill the task if a worker is running it."
    )
    signal = serializers.ChoiceField(
        choices=SIGNALS, default="SIGTERM", help_text="The signal sent with terminate."
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=1000, help_text="Why (kept in the audit)."
    )


class RetryRequestSerializer(serializers.Serializer[Any]):
    """The body of ``retry/`` (optional)."""

    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=1000, help_text="Why (kept in the audit)."
    )


class BulkRequestSerializer(serializers.Serializer[Any]):
    """The body of ``bulk/``: an action, and either ``ids`` or ``filter``."""

    action = serializers.ChoiceField(choices=list(ACTIONS))
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=10_000,
        help_text="Execution ids; those you may not see are not matched.",
    )
    filter = serializers.DictField(
        required=False,
        help_text="The list's filter parameters (module, task_name, status, created_by, "
        "my_tasks, start_date, end_date, search, metadata, …) as a JSON object; the list's "
        "scoping applies (your own rows unless my_tasks is false or created_by is given).",
    )
    dry_run = serializers.BooleanField(default=False, help_text="Only count the matches.")
    terminate = serializers.BooleanField(default=False, help_text="revoke: kill running tasks.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("filter" in attrs):
            raise ValidationError({"ids": ["Give either ids or filter, not both or neither."]})
        unknown = sorted(set(attrs.get("filter", {})) - set(FILTER_NAMES) - set(SCOPE_NAMES))
        if unknown:
            raise ValidationError({"filter": [f"Unknown filter(s): {', '.join(unknown)}."]})
        return attrs


class BulkResultSerializer(serializers.Serializer[Any]):
    """What a bulk action matched and did."""

    action = serializers.CharField()
    dry_run = serializers.BooleanField()
    matched = serializers.IntegerField(help_text="Rows matched within your scope.")
    limit = serializers.IntegerField(help_text="AGENTCORE_TASK_BULK_LIMIT.")
    acted_on = serializers.IntegerField(help_text="Rows acted on (0 on a dry run).")
    truncated = serializers.BooleanField(help_text="More rows matched than the limit allowed.")
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Rows per outcome. revoke: revoked, already_finished; retry: retried, "
        "not_finished, redacted_arguments, failed.",
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class OperateActions:
    """The operator actions of the executions viewset (mixed into TaskExecutionViewSet)."""

    get_object: Any
    get_serializer: Any
    get_queryset: Any

    @extend_schema(
        request=RevokeRequestSerializer,
        responses={200: TaskExecutionDetailSerializer, **ERRORS, 409: ConflictSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=JSON_OR_FORM)
    def revoke(self, request: Request, pk: str) -> Response:
        """Revoke the execution: the row REVOKED first (it sticks), then Celery's revoke.

        Needs staff or agentcore_task.operate_taskexecution (403). 409 when it already
        finished.
        """
        actor = require_operate(request)
        body = RevokeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = self.get_object()
        try:
            revoke_execution(
                row,
                terminate=body.validated_data["terminate"],
                signal=body.validated_data["signal"],
                actor=actor,
                reason=body.validated_data.get("reason"),
                source="api",
            )
        except ExecutionStateError as error:
            raise Conflict(error) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=row.pk)).data)

    @extend_schema(
        request=RetryRequestSerializer,
        responses={201: TaskExecutionDetailSerializer, **ERRORS, 409: ConflictSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=JSON_OR_FORM)
    def retry(self, request: Request, pk: str) -> Response:
        """Run a finished execution again as a new row (201) whose retry_of is this one.

        Needs staff or agentcore_task.operate_taskexecution (403). 409 when it has not
        finished, or its stored arguments were redacted (``redacted_keys`` names them).
        """
        actor = require_operate(request)
        body = RetryRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = self.get_object()
        try:
            new = retry_execution(
                row, actor=actor, reason=body.validated_data.get("reason"), source="api"
            )
        except ExecutionStateError as error:
            raise Conflict(error) from None
        shown = self.get_queryset().filter(pk=new.pk).first() or new
        return Response(self.get_serializer(shown).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=BulkRequestSerializer,
        responses={200: BulkResultSerializer, **ERRORS},
    )
    @action(detail=False, methods=["post"], parser_classes=JSON_ONLY)
    def bulk(self, request: Request) -> Response:
        """Revoke or retry many executions, by ids or by the list's filters.

        ``dry_run`` answers the matched count and changes nothing; a real run acts on at
        most AGENTCORE_TASK_BULK_LIMIT rows (oldest id first) and answers counts per
        outcome. Only rows you may see are matched. Needs staff or
        agentcore_task.operate_taskexecution (403).
        """
        actor = require_operate(request)
        body = BulkRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        visible = TaskExecution.objects.visible_to(actor)
        rows: QuerySet[TaskExecution]
        if "ids" in data:
            ids, filters, rows = data["ids"], None, visible
            target: dict[str, Any] = {"executions": data["ids"]}
        else:
            raw = dict(data["filter"])
            my_tasks = raw.pop("my_tasks", None)
            rows = scope_rows(visible, actor, _text(raw.get("created_by")), _text(my_tasks))
            try:
                filters = parse_filters(**{k: v for k, v in raw.items() if k != "ordering"})
            except FilterError as error:
                raise ValidationError({"filter": error.errors}) from None
            ids, target = None, {"filter": data["filter"]}
        result = bulk_operate(
            data["action"],
            rows,
            ids=ids,
            filters=filters,
            dry_run=data["dry_run"],
            actor=actor,
            reason=data.get("reason"),
            source="api",
            target=target,
            terminate=data["terminate"],
        )
        return Response(BulkResultSerializer(result).data)
