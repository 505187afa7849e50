"""The executions table: the list's filters read from the page's query string, keyset pages.

The filters are the REST list's (``parse_filters`` names every bad value, shown beside its
field); the rows are ``visible_to(user).matching(filters)``, newest first. Pages follow
``(created_at, id)`` with an ``after`` cursor, so page 10,000 costs what page 1 does, and the
count stops at :data:`COUNT_CAP` (``COUNT(*)`` over a LIMIT) instead of scanning every match.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict

from agentcore_task.dashboard.rows import with_usernames
from agentcore_task.exceptions import FilterError
from agentcore_task.querysets import ExecutionFilters
from agentcore_task.services.filters import parse_filters

PAGE_SIZE = 50
COUNT_CAP = 10_000
"""Counts above this read "10k+": an exact count of a million matches is a full scan."""

TEXT_FIELDS = (
    "task_name",
    "module",
    "start_date",
    "end_date",
    "created_by",
    "search",
    "metadata",
    "task_kwargs",
)
"""The single-valued filters the form offers (``status`` may repeat)."""
FORGED_CURSOR = "The page position in the link (after=…) is not one the dashboard made."


@dataclasses.dataclass(frozen=True)
class TableQuery:
    """What the query string asked for, checked: filters, scope, page position, errors."""

    filters: ExecutionFilters
    values: dict[str, Any]
    """The submitted values as text (and ``status`` as a list), to fill the form again."""
    mine: bool
    after: tuple[dt.datetime, int] | None
    errors: dict[str, list[str]]


def read_query(query: QueryDict) -> TableQuery:
    """Check the table's parameters; bad ones are reported in ``errors``, not raised."""
    values: dict[str, Any] = {name: query.get(name, "").strip() for name in TEXT_FIELDS}
    values["status"] = [status for status in query.getlist("status") if status]
    errors: dict[str, list[str]] = {}
    try:
        filters = parse_filters(**values)
    except FilterError as error:
        errors.update(error.errors)
        filters = ExecutionFilters()
    after = None
    cursor = query.get("after", "")
    if cursor:
        try:
            after = decode_cursor(cursor)
        except ValueError as error:
            errors["after"] = [str(error)]
    return TableQuery(filters, values, query.get("mine") == "1", after, errors)


def encode_cursor(created_at: dt.datetime, pk: int) -> str:
    """Return the position after which the next page starts (readable, URL-safe)."""
    return f"{created_at.astimezone(dt.UTC).strftime('%Y%m%dT%H%M%S.%fZ')}_{pk}"


def decode_cursor(text: str) -> tuple[dt.datetime, int]:
    """Return ``(created_at, id)`` of a cursor made by :func:`encode_cursor`.

    Raises:
        ValueError: text that is not such a cursor (a forged or truncated link).
    """
    stamp, _, pk = text.strip().partition("_")
    try:
        instant = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=dt.UTC)
        number = int(pk)
    except ValueError:
        raise ValueError(FORGED_CURSOR) from None
    if number < 1:
        raise ValueError(FORGED_CURSOR)
    return instant, number


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of rows, the cursor of the next one, and the (capped) number of matches."""

    rows: list[Any]
    next_cursor: str | None
    count: int
    capped: bool


def page_of(rows: QuerySet[Any], after: tuple[dt.datetime, int] | None) -> Page:
    """Return the page of ``rows`` (newest first) after the cursor position."""
    count = rows.order_by()[: COUNT_CAP + 1].count()
    if after is not None:
        created_at, pk = after
        rows = rows.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))
    items = list(with_usernames(rows).order_by("-created_at", "-id")[: PAGE_SIZE + 1])
    next_cursor = None
    if len(items) > PAGE_SIZE:
        items = items[:PAGE_SIZE]
        next_cursor = encode_cursor(items[-1].created_at, items[-1].pk)
    return Page(items, next_cursor, min(count, COUNT_CAP), count > COUNT_CAP)


def query_string(values: dict[str, Any], mine: bool, **extra: str) -> str:
    """Return the filters (and ``extra``) as a query string, for links that keep them."""
    query = QueryDict(mutable=True)
    for name, value in values.items():
        if isinstance(value, list):
            query.setlist(name, value)
        elif value:
            query[name] = value
    if mine:
        query["mine"] = "1"
    for name, value in extra.items():
        query[name] = value
    return query.urlencode()
