"""What every live consumer shows of a row: its progress keys, and its version.

A version is the row's ``updated_at`` in whole microseconds since the Unix epoch, as text:
the ``id:`` of a Server-Sent Event, sent back by the browser as ``Last-Event-ID`` when it
reconnects, and where the catch-up read starts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

PROGRESS_KEYS = ("progress_percent", "progress_message", "progress_step")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def progress_fields(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the three progress keys of ``metadata`` (None for each one missing)."""
    metadata = metadata or {}
    return {key: metadata.get(key) for key in PROGRESS_KEYS}


def version_of(instant: dt.datetime) -> str:
    """Return the version text of an ``updated_at``."""
    delta = instant - EPOCH
    return str((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


def instant_of(version: str) -> dt.datetime:
    """Return the ``updated_at`` a version names.

    Raises:
        ValueError: not a version this module made (ASCII digits, a plausible instant).
    """
    text = version.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 17:
        raise ValueError(f"not an event id of this stream: {version!r}")
    return EPOCH + dt.timedelta(microseconds=int(text))


ROW_FIELDS = (
    "id",
    "task_id",
    "task_name",
    "module",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "updated_at",
    "created_by_id",
    "error",
)
"""The columns of :func:`row_event` (read them with ``values(*ROW_FIELDS, "metadata")``)."""


def row_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return the JSON-ready change of one row (``manage.py agentcore_task watch --json``)."""
    event = {key: row[key] for key in ROW_FIELDS}
    for key in ("created_at", "started_at", "finished_at", "updated_at"):
        if event[key] is not None:
            event[key] = event[key].isoformat()
    event.update(progress_fields(row.get("metadata")))
    return event
