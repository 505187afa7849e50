"""Page-number pagination whose bad ``page`` / ``page_size`` is a 400, not a silent default."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView

from agentcore_task import conf


def _positive_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or str(value) != raw.strip().lstrip("+"):
        raise ValidationError({name: [f"Enter a whole number of 1 or more, not {raw!r}."]})
    return value


class TaskExecutionPagination(PageNumberPagination):
    """``page`` (from 1) and ``page_size`` (1 to AGENTCORE_TASK_API_MAX_PAGE_SIZE)."""

    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int:
        size = _positive_int(request, self.page_size_query_param)
        limit = conf.api_max_page_size()
        if size is None:
            return min(conf.api_page_size(), limit)
        if size > limit:
            raise ValidationError({"page_size": [f"Enter at most {limit}, not {size}."]})
        return size

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        _positive_int(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["count", "next", "previous", "results"]
        return response

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = conf.api_max_page_size()
        return parameters
