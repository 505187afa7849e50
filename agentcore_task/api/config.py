"""``GET/PATCH config/``: the runtime configuration of the periodic jobs.

Reading is open to whoever may use the API (``AGENTCORE_TASK_API_PERMISSION_CLASSES``), but
only staff see the username of the last updater;
changing needs staff status or the model permission
``agentcore_task.change_taskruntimeconfig``. The view only translates HTTP: validation,
storage and caching live in ``agentcore_task.runtime_config``, the push of a crontab change to
django_celery_beat in ``agentcore_task.beat_scheduler`` (it receives the configuration's
``runtime_config_changed`` signal).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.module_loading import import_string
from rest_framework import serializers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from agentcore_task import conf
from agentcore_task.api.errors import api_exception_handler
from agentcore_task.api.openapi import extend_schema, extend_schema_field
from agentcore_task.api.serializers import ErrorSerializer
from agentcore_task.models import (
    RETENTION_DAYS_LIMITS,
    TIMEOUT_MINUTES_LIMITS,
)
from agentcore_task.runtime_config import (
    CRONTAB_MAX_LENGTH,
    FIELDS,
    RuntimeConfig,
    RuntimeConfigError,
    get_runtime_config,
    update_runtime_config,
    validate_crontab,
)
from agentcore_task.services.audit import record_action

CHANGE_PERMISSION = "agentcore_task.change_taskruntimeconfig"
ERRORS = {status: ErrorSerializer for status in (400, 401, 403)}
SOURCES = ["database", "settings", "default"]


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, with a body nested too deeply for ``json`` a 400 rather than a 500.

    ``json.load`` recurses once per level and raises RecursionError (not ValueError, which
    DRF turns into its 400) on a body nested some thousands of levels deep.
    """

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None


class CanChangeRuntimeConfig(BasePermission):
    """Let anyone through for reads; changes need staff or ``change_taskruntimeconfig``."""

    message = (
        "Changing the runtime configuration needs staff status or the "
        f"{CHANGE_PERMISSION} permission."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in SAFE_METHODS:
            return True
        user = request.user
        return bool(
            user and user.is_authenticated and (user.is_staff or user.has_perm(CHANGE_PERMISSION))
        )


def _crontab(value: str) -> None:
    """Refuse what Celery refuses (the service normalises the spacing when it stores it)."""
    try:
        validate_crontab(value)
    except ValueError as error:
        raise serializers.ValidationError(str(error)) from None


def _number_field(limits: tuple[int, int], **kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=limits[0], max_value=limits[1], **kwargs)


def _crontab_field(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=CRONTAB_MAX_LENGTH, validators=[_crontab], **kwargs)


class RuntimeConfigPatchSerializer(serializers.Serializer[Any]):
    """A PATCH body: the fields to change; ``null`` clears an override."""

    retention_days = _number_field(
        RETENTION_DAYS_LIMITS,
        required=False,
        allow_null=True,
        help_text="Days after which cleanup deletes executions.",
    )
    timeout_minutes = _number_field(
        TIMEOUT_MINUTES_LIMITS,
        required=False,
        allow_null=True,
        help_text="Minutes after which a STARTED execution is marked FAILURE.",
    )
    cleanup_crontab = _crontab_field(
        required=False,
        allow_null=True,
        help_text="When Beat runs cleanup: 5 fields, e.g. '0 2 * * *'.",
    )
    mark_timeout_crontab = _crontab_field(
        required=False,
        allow_null=True,
        help_text="When Beat runs timeout marking: 5 fields, e.g. '*/30 * * * *'.",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Refuse unknown fields too, in the same 400 as the other bad fields."""
        unknown: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            unknown = {
                str(name): [f"Unknown field; the fields are {', '.join(FIELDS)}."]
                for name in data
                if name not in self.fields
            }
        try:
            validated: dict[str, Any] = super().to_internal_value(data)
        except ValidationError as error:
            if isinstance(error.detail, dict):
                raise ValidationError({**error.detail, **unknown}) from None
            raise
        if unknown:
            raise ValidationError(unknown)
        return validated


class _ValuesSerializer(serializers.Serializer[Any]):
    retention_days = _number_field(RETENTION_DAYS_LIMITS)
    timeout_minutes = _number_field(TIMEOUT_MINUTES_LIMITS)
    cleanup_crontab = serializers.CharField()
    mark_timeout_crontab = serializers.CharField()


@extend_schema_field(
    {
        "type": "object",
        "properties": {name: {"type": "string", "enum": SOURCES} for name in FIELDS},
        "required": list(FIELDS),
    }
)
class _SourcesSerializer(serializers.Serializer[Any]):
    """Described inline: as a component, its four fields sharing one choice set would make
    drf-spectacular warn about enum names in every project that generates its schema."""

    retention_days = serializers.ChoiceField(choices=SOURCES)
    timeout_minutes = serializers.ChoiceField(choices=SOURCES)
    cleanup_crontab = serializers.ChoiceField(choices=SOURCES)
    mark_timeout_crontab = serializers.ChoiceField(choices=SOURCES)


class RuntimeConfigSerializer(_ValuesSerializer):
    """The effective configuration: each value in force, where it comes from, the last change."""

    sources = _SourcesSerializer(
        help_text="Where each value comes from, by field name: 'database' (the override), "
        "'settings' (the Django setting) or 'default' (the built-in default)."
    )
    fallbacks = _ValuesSerializer(
        help_text="Each value without its database override: what PATCHing null restores."
    )
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by_id = serializers.IntegerField(allow_null=True)
    updated_by_username = serializers.CharField(
        allow_null=True,
        help_text="The username of whoever last changed the overrides; null for users who "
        "are not staff, so an ordinary API user cannot learn operators' account names.",
    )

    def to_representation(self, instance: RuntimeConfig) -> dict[str, Any]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        staff = bool(getattr(user, "is_staff", False))
        return dict(
            super().to_representation(
                {
                    **instance.values,
                    "sources": instance.sources,
                    "fallbacks": instance.fallbacks,
                    "updated_at": instance.updated_at,
                    "updated_by_id": instance.updated_by_id,
                    "updated_by_username": instance.updated_by_username if staff else None,
                }
            )
        )


class RuntimeConfigView(APIView):
    """The retention, timeout and Beat crontabs in force, and their database overrides."""

    # JSON only: form and multipart bodies cannot say "null" (clear an override) and would
    # turn every value into a string; anything else is a 415 with a JSON error body.
    parser_classes = [BoundedJSONParser]

    def get_permissions(self) -> list[BasePermission]:
        configured = [import_string(path)() for path in conf.api_permission_classes()]
        return [*configured, CanChangeRuntimeConfig()]

    def get_exception_handler(self) -> Any:
        return api_exception_handler

    @extend_schema(responses={200: RuntimeConfigSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        """Return the effective configuration, read from the database now (not cached)."""
        config = get_runtime_config(fresh=True)
        return Response(RuntimeConfigSerializer(config, context={"request": request}).data)

    @extend_schema(
        request=RuntimeConfigPatchSerializer,
        responses={200: RuntimeConfigSerializer, **ERRORS, 415: ErrorSerializer},
    )
    def patch(self, request: Request) -> Response:
        """Set (or, with null, clear) overrides: every field is checked before any is written.

        Needs staff status or ``agentcore_task.change_taskruntimeconfig``. Other processes
        see the change within ``AGENTCORE_TASK_CONFIG_CACHE_SECONDS``. A crontab change
        reaches Beat only through django_celery_beat's DatabaseScheduler: it moves that job's
        PeriodicTask to the new schedule at once (nothing else in the row changes) and Beat
        keeps it across restarts. Celery's default scheduler runs the settings' crontabs.
        """
        body = RuntimeConfigPatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            config = update_runtime_config(user=request.user, **body.validated_data)
        except RuntimeConfigError as error:
            raise ValidationError(error.errors) from None
        record_action(
            "config_change",
            actor=request.user,
            source="api",
            target={"config": {name: value for name, value in body.validated_data.items()}},
            counts={"changed": len(body.validated_data)},
        )
        return Response(RuntimeConfigSerializer(config, context={"request": request}).data)
