"""``GET executions/stream/`` and ``GET executions/{id}/stream/``: Server-Sent Events.

Each event is ``event: execution`` whose data is the list item (as ``executions/`` shows it,
with its ``include_metadata`` / ``metadata_fields``) plus ``progress_percent``,
``progress_message`` and ``progress_step``, and whose ``id:`` is the newest row version the
stream has sent (``agentcore_task.live.events``). A browser's ``EventSource`` sends it back
as ``Last-Event-ID`` when it reconnects, and the stream first sends every row changed since.

The view is the list's own viewset, so a stream is authenticated, permitted, scoped and
filtered exactly as ``executions/`` is (the host's DRF authentication classes, the list's
``my_tasks`` / ``created_by`` rules and filters, plus ``task_id``). The resulting queryset is
what the hub runs, per change, to pick the rows this client may see.

Under ASGI (uvicorn, Daphne) the response streams: changes from this process's hub, a
comment every ``AGENTCORE_TASK_LIVE_HEARTBEAT_SECONDS``, and ``reset`` when the client fell
behind or missed too much (reload, then keep listening). Under WSGI a stream would hold a
worker thread for as long as the browser stays: the answer is instead the current rows and
``retry: 5000``, and ``EventSource`` reconnects (with ``Last-Event-ID``) every five seconds,
which is polling.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Hashable, Sequence
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.core.handlers.asgi import ASGIRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.db.models import F, QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer

from agentcore_task import conf
from agentcore_task.api.openapi import extend_schema
from agentcore_task.api.scoping import scope_list
from agentcore_task.api.views import ERRORS, LIST_PARAMETERS, TaskExecutionViewSet
from agentcore_task.live.events import PROGRESS_KEYS, instant_of, version_of
from agentcore_task.live.feed import OVERLAP
from agentcore_task.live.hub import Event, get_hub
from agentcore_task.models import TaskExecution

STREAM_RETRY_MS = 3000
"""How long a browser waits before reconnecting after the stream ended (ASGI)."""
SNAPSHOT_RETRY_MS = 5000
"""The polling period of a browser under WSGI, where each answer is one snapshot."""

HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",  # nginx: pass each event on, do not buffer the response
}
_ANNOTATED = {f"live_{key}": KeyTransform(key, "metadata") for key in PROGRESS_KEYS}


class EventStreamRenderer(BaseRenderer):
    """Lets content negotiation accept ``text/event-stream``; errors are rendered as JSON."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        return json.dumps(data, cls=DjangoJSONEncoder).encode()


def format_event(event: Event, last_id: str | None) -> str:
    """Return one event in the wire format (``id:`` only once the stream has a version)."""
    lines = [f"id: {last_id}"] if last_id is not None else []
    lines.append(f"event: {event.name}")
    lines.append("data: " + json.dumps(event.data, cls=DjangoJSONEncoder, ensure_ascii=False))
    return "\n".join(lines) + "\n\n"


class Stream:
    """The events of one stream so far; ``id:`` is the newest version sent.

    A row version already sent (by the snapshot, then again by the hub, whose read looks
    back a little) is not sent twice.
    """

    def __init__(self) -> None:
        self.last_id: str | None = None
        self._sent: dict[int, int] = {}

    def text(self, events: Sequence[Event]) -> str:
        parts = []
        for event in events:
            if event.version is not None and event.row is not None:
                version = int(event.version)
                if self._sent.get(event.row) == version:
                    continue
                self._sent[event.row] = version
                if self.last_id is None or version > int(self.last_id):
                    self.last_id = event.version
            parts.append(format_event(event, self.last_id))
        if self.last_id is not None and len(self._sent) > 1000:
            horizon = int(self.last_id) - int(OVERLAP.total_seconds() * 1_000_000)
            self._sent = {row: v for row, v in self._sent.items() if v > horizon}
        return "".join(parts)


class ExecutionSubscription:
    """The rows one client may see (a scoped, filtered queryset) and how it shows them."""

    def __init__(self, rows: QuerySet[TaskExecution], serializer: type[BaseSerializer[Any]]):
        self.rows = rows.annotate(**_ANNOTATED).order_by("updated_at", "id")
        self.serializer = serializer
        try:
            sql = str(self.rows.query)
        except EmptyResultSet:  # .none(): an anonymous user's own rows
            sql = ""
        self.sql = sql
        self.key: Hashable = (serializer, sql)

    def events(self, rows: QuerySet[TaskExecution]) -> list[Event]:
        return [self._event(row) for row in rows]

    def _event(self, row: TaskExecution) -> Event:
        data = dict(self.serializer(row).data)
        data.update({key: getattr(row, f"live_{key}") for key in PROGRESS_KEYS})
        return Event("execution", data, version_of(row.updated_at), row.pk)

    def select(self, ids: Sequence[int], using: str) -> list[Event]:
        """The hub's question: which of these changed rows does this client see, and how."""
        if not self.sql:
            return []
        return self.events(self.rows.using(using).filter(pk__in=ids))

    def snapshot(self, since: str | None, limit: int) -> list[Event]:
        """The events a stream starts with: rows changed since a version, else the newest.

        More than ``limit`` changes since ``since`` end in a ``reset`` event and the newest
        rows, as if the client had connected afresh.
        """
        if not self.sql:
            return []
        if since is not None:
            changed = self.rows.filter(updated_at__gt=instant_of(since) - OVERLAP)
            events = self.events(changed[: limit + 1])
            if len(events) <= limit:
                return events
            reset = Event("reset", {"reason": "too many changes since Last-Event-ID; reload"})
            return [reset, *self.snapshot(None, limit)]
        newest = self.rows.order_by("-updated_at", "-id")[:limit]
        return self.events(newest)[::-1]


def _snapshot_and_release(subscription: ExecutionSubscription, since: str | None) -> list[Event]:
    """Read the snapshot, then close this request's connections before the stream waits.

    Under ASGI each request runs its sync code in a thread of its own, so a connection left
    open here would be held for as long as the browser stays: one per client. From here on
    the stream reads nothing itself; the hub's one connection does.
    """
    try:
        return subscription.snapshot(since, conf.api_max_page_size())
    finally:
        for connection in connections.all(initialized_only=True):
            connection.close()


async def _live(subscription: ExecutionSubscription, since: str | None) -> AsyncIterator[str]:
    """Stream from the hub: snapshot after subscribing, so nothing falls between the two."""
    hub = get_hub()
    client = hub.subscribe(subscription)
    stream = Stream()
    heartbeat = conf.live_heartbeat_seconds()
    try:
        yield f"retry: {STREAM_RETRY_MS}\n\n"
        first = await sync_to_async(_snapshot_and_release)(subscription, since)
        yield stream.text(first) or ": connected\n\n"
        while True:
            try:
                events = await asyncio.wait_for(client.queue.get(), timeout=heartbeat)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            yield stream.text(events)
            if client.dropped:
                return
    finally:
        hub.unsubscribe(client)


def _last_event_id(request: Request) -> str | None:
    value = request.META.get("HTTP_LAST_EVENT_ID") or request.query_params.get("last_event_id")
    if not value:
        return None
    try:
        instant_of(value)
    except ValueError as error:
        raise ValidationError({"Last-Event-ID": [str(error)]}) from None
    return str(value).strip()


# One event as OpenAPI 3.2 describes Server-Sent Events (and schemathesis checks them): its
# ``data`` is the list item plus the progress keys, as JSON text. The schema is OpenAPI 3.0,
# which has no ``contentMediaType``, so the description says what the text holds.
EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["execution", "reset"]},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "data": {
            "type": "string",
            "description": "JSON text: the list item plus progress_percent, progress_message "
            "and progress_step.",
        },
        "retry": {"type": "integer"},
    },
}


def _stream_schema(operation_id: str, **options: Any) -> Any:
    return extend_schema(
        operation_id=operation_id,
        **options,
        responses={(200, "text/event-stream"): EVENT_SCHEMA, **ERRORS},
        description="Server-Sent Events: `event: execution` per change (the list item plus "
        "progress_percent, progress_message, progress_step), `id:` for Last-Event-ID, a "
        "comment as heartbeat, `reset` to reload. Under WSGI: one snapshot and `retry:`.",
    )


class ExecutionStreamViewSet(TaskExecutionViewSet):
    """The list's viewset, answering with a stream of changes instead of a page."""

    renderer_classes = [JSONRenderer, EventStreamRenderer]
    pagination_class = None  # type: ignore[assignment]

    def get_queryset(self) -> QuerySet[TaskExecution]:
        username = get_user_model().USERNAME_FIELD
        rows = TaskExecution.objects.annotate(created_by_username=F(f"created_by__{username}"))
        if self.action == "list_stream":
            return self._list_columns(scope_list(rows, self.request))
        return self._list_columns(rows.visible_to(self.request.user))

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        self.action, action = "list", self.action  # the list item's serializer, as asked
        try:
            return super().get_serializer_class()
        finally:
            self.action = action

    @_stream_schema("executions_stream", filters=True, parameters=LIST_PARAMETERS)
    def list_stream(self, request: Request) -> HttpResponseBase:
        """Stream the changes of the executions the list would show (the list's filters)."""
        rows = self.filter_queryset(self.get_queryset())
        return self._respond(request, rows)

    @_stream_schema("executions_detail_stream")
    def detail_stream(self, request: Request, pk: str) -> HttpResponseBase:
        """Stream the changes of one execution."""
        row = self.get_object()
        return self._respond(request, self.get_queryset().filter(pk=row.pk))

    def _respond(self, request: Request, rows: QuerySet[TaskExecution]) -> HttpResponseBase:
        since = _last_event_id(request)
        subscription = ExecutionSubscription(rows, self.get_serializer_class())
        content_type = "text/event-stream; charset=utf-8"
        if isinstance(request._request, ASGIRequest):
            return StreamingHttpResponse(
                _live(subscription, since), content_type=content_type, headers=HEADERS
            )
        events = subscription.snapshot(since, conf.api_max_page_size())
        body = f"retry: {SNAPSHOT_RETRY_MS}\n\n" + Stream().text(events)
        return HttpResponse(body, content_type=content_type, headers=HEADERS)
