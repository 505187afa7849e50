"""``GET locks/`` and ``POST locks/release/``: the held locks by name, and a forced release.

Listing needs staff, ``agentcore_task.view_all_taskexecution`` or the operate permission
(lock names can carry business context); releasing needs staff or
``agentcore_task.operate_taskexecution``, and is audited. Both backends are shown: cache
locks with the TTL left, advisory locks with the PostgreSQL pid holding them.
"""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string
from rest_framework import serializers
from rest_framework.exceptions import APIException, NotFound, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentcore_task import conf
from agentcore_task.api.config import BoundedJSONParser
from agentcore_task.api.errors import api_exception_handler
from agentcore_task.api.openapi import extend_schema
from agentcore_task.api.permissions import require_operate
from agentcore_task.api.serializers import ErrorSerializer
from agentcore_task.locks.api import BACKEND_NAMES
from agentcore_task.locks.base import LockBackendError
from agentcore_task.querysets import (
    OPERATE_PERMISSION,
    VIEW_ALL_PERMISSION,
    can_operate,
    sees_everything,
)
from agentcore_task.services.locks import list_locks, release_lock

__all__ = ["LockReleaseView", "LocksView"]

ERRORS = {code: ErrorSerializer for code in (400, 401, 403)}


class HeldLockSerializer(serializers.Serializer[Any]):
    """One held lock."""

    name = serializers.CharField()
    backend = serializers.ChoiceField(choices=list(BACKEND_NAMES))
    holder = serializers.CharField(
        allow_null=True, help_text="Celery task id of the task that took it, if a task did."
    )
    owner = serializers.CharField(help_text="Host, pid and thread of the taker.")
    since = serializers.DateTimeField(allow_null=True)
    ttl = serializers.FloatField(
        allow_null=True, help_text="Seconds until a cache lock expires; null for advisory."
    )
    pid = serializers.IntegerField(
        allow_null=True, help_text="PostgreSQL backend pid holding an advisory lock."
    )


class LockListingSerializer(serializers.Serializer[Any]):
    """Every lock held now, and the backends that could not be asked."""

    locks = HeldLockSerializer(many=True)
    unavailable = serializers.DictField(
        child=serializers.CharField(),
        help_text="Backend -> why it could not be listed (unreachable, or a cache other "
        "than Django's RedisCache).",
    )


class LockReleaseRequestSerializer(serializers.Serializer[Any]):
    """The body of ``locks/release/``."""

    name = serializers.CharField(max_length=10_000, trim_whitespace=False)
    backend = serializers.ChoiceField(
        choices=list(BACKEND_NAMES),
        required=False,
        help_text="Default: the cache backend, then the advisory one.",
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class LockReleasedSerializer(serializers.Serializer[Any]):
    """What a forced release did."""

    name = serializers.CharField()
    backend = serializers.CharField()
    done = serializers.CharField(help_text="What was done to free it.")


class LockBackendUnavailable(APIException):
    """503: the lock backend could not be reached."""

    status_code = 503
    default_code = "lock_backend_unavailable"


class _LockView(APIView):
    def get_permissions(self) -> list[BasePermission]:
        return [import_string(path)() for path in conf.api_permission_classes()]

    def get_exception_handler(self) -> Any:
        return api_exception_handler


class LocksView(_LockView):
    """The locks held now, on both backends."""

    @extend_schema(responses={200: LockListingSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        """List held locks: name, backend, holder task, since, TTL left (cache locks).

        Needs staff, agentcore_task.view_all_taskexecution or
        agentcore_task.operate_taskexecution.
        """
        if not (sees_everything(request.user) or can_operate(request.user)):
            raise PermissionDenied(
                f"Listing locks needs staff status, the {VIEW_ALL_PERMISSION} or the "
                f"{OPERATE_PERMISSION} permission."
            )
        return Response(LockListingSerializer(list_locks()).data)


class LockReleaseView(_LockView):
    """Force-release one lock by name."""

    parser_classes = [BoundedJSONParser]  # JSON only; anything else is a 415

    @extend_schema(
        request=LockReleaseRequestSerializer,
        responses={
            200: LockReleasedSerializer,
            404: ErrorSerializer,
            415: ErrorSerializer,
            503: ErrorSerializer,
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        """Release the named lock whoever holds it (audited). 404 when nobody holds it.

        Needs staff or agentcore_task.operate_taskexecution. An advisory lock held by
        another process is freed by ending that PostgreSQL session.
        """
        actor = require_operate(request)
        body = LockReleaseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            done = release_lock(
                data["name"],
                backend=data.get("backend"),
                actor=actor,
                reason=data.get("reason"),
                source="api",
            )
        except LockBackendError as error:
            raise LockBackendUnavailable(str(error)) from None
        if done is None:
            raise NotFound(f"No backend holds a lock named {data['name']!r}.")
        return Response({"name": data["name"], "backend": done[0], "done": done[1]})
