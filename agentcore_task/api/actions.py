"""``GET actions/``: the audit trail of operator actions, newest first, read-only.

Needs staff status or the model's view permission (``agentcore_task.view_taskaction``).
Filters: ``action``, ``actor`` (user id), ``source``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.module_loading import import_string
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission

from agentcore_task import conf
from agentcore_task.api.errors import api_exception_handler
from agentcore_task.api.openapi import OpenApiParameter, OpenApiTypes, extend_schema
from agentcore_task.api.pagination import TaskExecutionPagination, _positive_int
from agentcore_task.api.scoping import is_whole_number
from agentcore_task.api.serializers import ErrorSerializer
from agentcore_task.models import TaskAction

__all__ = ["ActionListView"]

VIEW_PERMISSION = "agentcore_task.view_taskaction"


class TaskActionSerializer(serializers.ModelSerializer[TaskAction]):
    """One audit row."""

    actor = serializers.IntegerField(source="actor_id", read_only=True, allow_null=True)
    target = serializers.JSONField(read_only=True)
    counts = serializers.DictField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = TaskAction
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_name",
            "action",
            "source",
            "target",
            "counts",
            "reason",
        ]
        read_only_fields = fields


class ActionPagination(TaskExecutionPagination):
    """The executions' page numbers (400 for a bad ``page``/``page_size``), no cursor."""

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        _positive_int(request, self.page_query_param)
        return PageNumberPagination.paginate_queryset(self, queryset, request, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        return [parameter for parameter in parameters if parameter["name"] != "cursor"]


class ActionListView(generics.ListAPIView[TaskAction]):
    """The operator actions, newest first."""

    serializer_class = TaskActionSerializer
    pagination_class = ActionPagination

    def get_permissions(self) -> list[BasePermission]:
        return [import_string(path)() for path in conf.api_permission_classes()]

    def get_exception_handler(self) -> Any:
        return api_exception_handler

    def get_queryset(self) -> QuerySet[TaskAction]:
        user = self.request.user
        if not (getattr(user, "is_staff", False) or user.has_perm(VIEW_PERMISSION)):
            raise PermissionDenied(
                f"The audit trail needs staff status or the {VIEW_PERMISSION} permission."
            )
        rows = TaskAction.objects.order_by("-created_at", "-id")
        params = self.request.query_params
        for name in ("action", "source"):
            if params.get(name):
                rows = rows.filter(**{name: params[name]})
        actor = params.get("actor")
        if actor is not None:
            if not is_whole_number(actor):
                raise ValidationError({"actor": ["Enter a user id."]})
            rows = rows.filter(actor_id=int(actor))
        return rows

    @extend_schema(
        parameters=[
            OpenApiParameter("action", OpenApiTypes.STR, description="e.g. revoke, bulk_retry"),
            OpenApiParameter("source", OpenApiTypes.STR, description="api, admin, command…"),
            OpenApiParameter("actor", OpenApiTypes.INT, description="The acting user's id."),
        ],
        responses={
            200: TaskActionSerializer(many=True),
            **{c: ErrorSerializer for c in (400, 401, 403, 404)},
        },
    )
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """List the audit trail (paginated: page, page_size)."""
        return super().get(request, *args, **kwargs)
