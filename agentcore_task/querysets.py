"""Row selection over executions, in one place: who may see which rows, which rows match.

Every reader — the REST API, the admin, ``list_task_executions``, ``get_task_stats``, the
periodic jobs — selects rows through these methods, so scoping and filtering are written
once. Each filter is SQL an index can serve: equality on module / task_name / status /
created_by (btree), ranges on created_at (btree), containment on the jsonb columns (``@>``,
GIN with ``jsonb_path_ops``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, TypeVar

from django.contrib.postgres.expressions import ArraySubquery
from django.db import models
from django.db.models import JSONField, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from agentcore_task.sql import query
from agentcore_task.status import TaskStatus

VIEW_ALL_PERMISSION = "agentcore_task.view_all_taskexecution"
"""Lets a user see every user's executions and the rows without a creator."""

OPERATE_PERMISSION = "agentcore_task.operate_taskexecution"
"""Lets a user act on the executions they can see: revoke, retry, bulk, free locks."""

PAYLOAD_COLUMNS = ("task_args", "task_kwargs", "result", "error", "traceback", "status_history")
UNFINISHED_STATUSES = (TaskStatus.PENDING, TaskStatus.STARTED, TaskStatus.RETRY)

ORDERING_FIELDS = ("created_at", "started_at", "finished_at", "status")

Q_T = TypeVar("Q_T", bound="TaskExecutionQuerySet")


@dataclasses.dataclass(frozen=True)
class ExecutionFilters:
    """Checked filter values; ``None`` (or empty) means "no filter" for each."""

    module: str | None = None
    task_name: str | None = None
    task_id: str | None = None
    """Exactly this Celery task id."""
    statuses: tuple[str, ...] = ()
    """Any of these statuses (OR)."""
    created_by_id: int | None = None
    start_date: dt.date | dt.datetime | None = None
    """created_at >= this; a bare date starts at 00:00 in TIME_ZONE."""
    end_date: dt.date | dt.datetime | None = None
    """created_at <= this; a bare date covers that whole day."""
    search: str | None = None
    """Case-insensitive substring of the task name or the task id."""
    metadata: dict[str, Any] | None = None
    task_kwargs: dict[str, Any] | None = None
    task_args: list[Any] | None = None
    result: Any = None
    """A JSON value the result must contain."""
    ordering: tuple[str, ...] = ()
    """Ordering keys (``-`` for descending); empty: newest first."""


def created_bounds(filters: ExecutionFilters) -> dict[str, dt.datetime]:
    """Return the created_at lookups of the filters' start and end, as instants.

    A bare date is its whole day in TIME_ZONE (both ends inclusive); a date whose day cannot
    be expressed (the first or last representable one) puts no bound on that side.
    """
    bounds: dict[str, dt.datetime] = {}
    start, end = filters.start_date, filters.end_date
    if isinstance(start, dt.datetime):
        bounds["created_at__gte"] = start
    elif start is not None and (first := _day_start(start)) is not None:
        bounds["created_at__gte"] = first
    if isinstance(end, dt.datetime):
        bounds["created_at__lte"] = end
    elif end is not None:
        try:
            after = _day_start(end + dt.timedelta(days=1))
        except OverflowError:
            after = None
        if after is not None:
            bounds["created_at__lt"] = after
    return bounds


def _day_start(day: dt.date) -> dt.datetime | None:
    """Return the first instant of ``day`` in the project's time zone (None: out of range)."""
    try:
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    except (OverflowError, ValueError):
        return None


def sees_everything(user: Any) -> bool:
    """Return True for staff and holders of ``agentcore_task.view_all_taskexecution``."""
    return bool(getattr(user, "is_staff", False) or user.has_perm(VIEW_ALL_PERMISSION))


def can_operate(user: Any) -> bool:
    """Return True for active staff and holders of ``agentcore_task.operate_taskexecution``."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(getattr(user, "is_staff", False) or user.has_perm(OPERATE_PERMISSION))


class TaskExecutionQuerySet(models.QuerySet[Any]):
    """``TaskExecution.objects``: the execution rows, with the library's selections."""

    def owned_by(self: Q_T, user: Any) -> Q_T:
        """Rows ``user`` created; none for a user without a primary key.

        ``filter(created_by_id=None)`` would compile to ``IS NULL``: an anonymous user would
        own every row without a creator (system runs, periodic runs, deleted users' rows).
        """
        pk = getattr(user, "pk", None)
        if pk is None or getattr(user, "is_anonymous", False) is True:
            return self.none()
        return self.filter(created_by_id=pk)

    def visible_to(self: Q_T, user: Any) -> Q_T:
        """Rows ``user`` may open one by one: all for :func:`sees_everything`, else their own."""
        if sees_everything(user):
            return self
        return self.owned_by(user)

    def matching(self: Q_T, filters: ExecutionFilters) -> Q_T:
        """Rows matching checked filter values (``services.filters.parse_filters`` makes them)."""
        rows = self
        for field, value in (
            ("module", filters.module),
            ("task_name", filters.task_name),
            ("task_id", filters.task_id),
        ):
            if value is not None:
                rows = rows.filter(**{field: value})
        if filters.statuses:
            rows = rows.filter(status__in=filters.statuses)
        if filters.created_by_id is not None:
            rows = rows.filter(created_by_id=filters.created_by_id)
        bounds = created_bounds(filters)
        if bounds:
            rows = rows.filter(**bounds)
        if filters.search is not None:
            search = filters.search
            rows = rows.filter(Q(task_name__icontains=search) | Q(task_id__icontains=search))
        for field in ("metadata", "task_kwargs", "task_args", "result"):
            value = getattr(filters, field)
            if value is not None:
                rows = rows.filter(**{f"{field}__contains": value})
        return rows

    def in_order(self: Q_T, keys: tuple[str, ...] = ()) -> Q_T:
        """Order by ``keys`` (default newest first); ``id`` breaks ties so pages are stable."""
        ordering = [key for key in keys if key] or ["-created_at"]
        tie_breaker = "-id" if ordering[0].startswith("-") else "id"
        return self.order_by(*ordering, tie_breaker)

    def list_columns(self: Q_T, *, metadata: bool = True, metadata_keys: Any = None) -> Q_T:
        """Load what a list item shows: no payload columns, metadata whole, narrowed or not.

        ``metadata_keys`` keeps only those top-level keys, computed in SQL (``jsonb_each``),
        and puts the result in the attribute ``metadata_subset``.
        """
        rows = self.defer(*PAYLOAD_COLUMNS)
        if not metadata:
            return rows.defer("metadata")
        if metadata_keys is None:
            return rows
        subset = RawSQL(query("metadata_subset"), (list(metadata_keys),), output_field=JSONField())
        return rows.defer("metadata").annotate(metadata_subset=subset)

    def with_retry_ids(self: Q_T) -> Q_T:
        """Annotate ``retry_ids``: the ids of the rows retrying each row, in the same query
        (an array subquery on the partial index ``agentcore_task_retry_of``)."""
        retries = self.model._base_manager.filter(retry_of=OuterRef("pk")).order_by("pk")
        return self.annotate(retry_ids=ArraySubquery(retries.values("pk")))

    def unfinished(self: Q_T) -> Q_T:
        """PENDING, STARTED and RETRY rows (the partial index ``agentcore_task_unfinished``)."""
        return self.filter(status__in=UNFINISHED_STATUSES)
