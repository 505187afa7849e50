"""List pagination: page numbers by default, keyset cursors for very large tables.

Page numbers answer ``count`` with a ``COUNT(*)`` over the filtered rows and reach deep pages
with ``OFFSET``; both grow with the table (bench/api_filters.py: ~60 ms for the count of
1,000,000 rows, ~150 ms for a 50,000-row filtered set). ``?cursor=`` (empty for the first page)
switches to keyset pagination on ``created_at``: no count (``count`` is null), and every page
costs the same however deep. A bad ``page``, ``page_size`` or ``cursor`` is a 400.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
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


class _CreatedAtCursor(CursorPagination):
    """Keyset pagination on created_at (ties kept in order by DRF's offset within a position)."""

    cursor_query_param = "cursor"

    def __init__(self, ascending: bool, page_size: int) -> None:
        self.ordering = ("created_at", "id") if ascending else ("-created_at", "-id")
        self.page_size = page_size

    def decode_cursor(self, request: Request) -> Any:
        """Decode the cursor and check its position is an instant PostgreSQL can compare.

        DRF signs nothing: a client can forge the position (empty, not a date, out of range,
        an offset beyond PostgreSQL's ±15:59). Normalised to UTC as DRF itself writes it, so
        a genuine cursor is unchanged and a forged one is a 400 rather than a database error.
        """
        try:
            cursor = super().decode_cursor(request)
        except Exception:
            raise ValidationError({"cursor": ["This cursor is not one this API issued."]}) from None
        if cursor is None or cursor.position is None:
            return cursor
        try:
            raw: Any = cursor.position  # DRF's stubs say int; it is the text DRF encoded
            position = dt.datetime.fromisoformat(raw)
            if position.tzinfo is None:
                raise ValueError("naive")
            position = position.astimezone(dt.UTC)
        except (ValueError, OverflowError, TypeError):
            raise ValidationError(
                {"cursor": ["This cursor is not one this API issued (bad position)."]}
            ) from None
        normalised: Any = str(position)
        return Cursor(offset=cursor.offset, reverse=cursor.reverse, position=normalised)


class TaskExecutionPagination(PageNumberPagination):
    """Page numbers (``page``, ``page_size`` up to the maximum) or keyset ``cursor`` pages."""

    page_size_query_param = "page_size"
    cursor: _CreatedAtCursor | None = None

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
        if "cursor" in request.query_params:
            if "page" in request.query_params:
                raise ValidationError({"cursor": ["Use either cursor or page, not both."]})
            ordering = request.query_params.get("ordering", "-created_at").strip()
            if ordering not in ("created_at", "-created_at"):
                raise ValidationError(
                    {
                        "cursor": [
                            "Cursor pages follow created_at: use ordering=created_at, "
                            "-created_at or none."
                        ]
                    }
                )
            self.cursor = _CreatedAtCursor(ordering == "created_at", self.get_page_size(request))
            return self.cursor.paginate_queryset(queryset, request, view)
        _positive_int(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        if self.cursor is None:
            return super().get_paginated_response(data)
        return Response(
            {
                "count": None,
                "next": self.cursor.get_next_link(),
                "previous": self.cursor.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["count", "next", "previous", "results"]
        response["properties"]["count"]["nullable"] = True
        response["properties"]["count"]["description"] = "Null with cursor pagination."
        return response

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = conf.api_max_page_size()
        parameters.append(
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "Keyset pagination for very large tables: empty for the first "
                "page, then the cursor in `next`/`previous`. No count; ordering by created_at "
                "only.",
                "schema": {"type": "string"},
            }
        )
        return parameters
