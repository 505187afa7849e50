"""drf-spectacular when it is installed (the ``openapi`` extra), else stand-ins that do nothing.

The API serves the same data either way; drf-spectacular only describes it (the schema view,
Swagger UI). Importing these names from here lets the views carry their OpenAPI details
without making every host project install the schema generator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    from drf_spectacular.openapi import AutoSchema
    from drf_spectacular.types import OpenApiTypes
    from drf_spectacular.utils import (
        OpenApiParameter,
        extend_schema,
        extend_schema_field,
        extend_schema_view,
    )

    AVAILABLE = True
except ImportError:  # the API without the openapi extra
    from rest_framework.schemas.openapi import AutoSchema  # type: ignore[assignment]

    AVAILABLE = False

    def _unchanged(target: Any) -> Any:
        return target

    def extend_schema(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:  # type: ignore[misc]
        return _unchanged

    def extend_schema_field(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:  # type: ignore[misc]
        return _unchanged

    def extend_schema_view(**kwargs: Any) -> Callable[[Any], Any]:  # type: ignore[misc]
        return _unchanged

    class OpenApiParameter:  # type: ignore[no-redef]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

    class OpenApiTypes:  # type: ignore[no-redef]
        STR = ANY = INT = None


__all__ = [
    "AVAILABLE",
    "AutoSchema",
    "OpenApiParameter",
    "OpenApiTypes",
    "extend_schema",
    "extend_schema_field",
    "extend_schema_view",
]
