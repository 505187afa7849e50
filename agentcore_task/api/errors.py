"""One error body for the API: DRF's ``{"detail": …}``, with per-parameter messages on a 400."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler


def _messages(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_messages(item) for item in value)
    if isinstance(value, dict):
        return " ".join(f"{key}: {_messages(item)}" for key, item in value.items())
    return str(value)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Give every 400 a ``detail`` that names the bad parameters, beside DRF's per-field list."""
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, ValidationError):
        return response
    data = response.data
    if isinstance(data, dict) and "detail" not in data:
        summary = "; ".join(f"{name}: {_messages(messages)}" for name, messages in data.items())
        response.data = {"detail": f"Invalid request. {summary}", **data}
    elif isinstance(data, list):
        response.data = {"detail": _messages(data)}
    return response
