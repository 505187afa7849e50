"""The doorbell: ``pg_notify`` when an execution row is created or changes status.

A notification says only *which* row rang and at what version; the row stays the truth, and
whoever listens reads it (``agentcore_task.live``). The payload is a small JSON object,
``{"id": …, "status": …, "updated_at": …}``: at most :data:`MAX_PAYLOAD_BYTES` bytes, far
below PostgreSQL's 8000-byte limit on a payload.

Why not on every progress update: ``NOTIFY`` takes a cluster-wide lock at commit, and with 8
writers merging progress a notification per merge halved the update rate (DESIGN.md §7).
So only inserts and status changes ring. Progress merges reach listeners by a cheap poll of
changed rows (``updated_at``, indexed), which is also the catch-up after a reconnect.

The two triggers are separate from the status rules (``agentcore_task/triggers.py``): they
run AFTER the row is written, and the UPDATE one has a ``WHEN`` condition, so a progress
merge does not even call its function. ``AGENTCORE_TASK_NOTIFY = False`` disables both in
the database (``agentcore_task.live.switch``, applied by ``migrate``).
"""

from __future__ import annotations

import pgtrigger

from agentcore_task.trigger_sql import Trigger

CHANNEL = "agentcore_task_execution"
"""The one channel every doorbell rings on."""

MAX_PAYLOAD_BYTES = 160
"""The longest payload the doorbell can send: a bigint id, a status of at most 20 characters
and a ``timestamptz`` in ISO form, with the JSON around them."""

_RING = f"""
    PERFORM pg_notify(
        '{CHANNEL}',
        json_build_object('id', NEW.id, 'status', NEW.status, 'updated_at', NEW.updated_at)::text
    );
    RETURN NULL;
"""

doorbell_insert = Trigger(
    name="agentcore_task_notify_insert",
    when=pgtrigger.After,
    operation=pgtrigger.Insert,
    func=_RING,
)

doorbell_status = Trigger(
    name="agentcore_task_notify_status",
    when=pgtrigger.After,
    operation=pgtrigger.Update,
    condition=pgtrigger.Condition("OLD.status IS DISTINCT FROM NEW.status"),
    func=_RING,
)

DOORBELL_TRIGGERS = (doorbell_insert, doorbell_status)
