"""Sample tasks: the two ways a project gets one row per Celery task execution.

By hand
    The caller starts the task with ``dispatch`` (the row first, the message on commit) and
    the task reports its status and progress itself (``TaskTracker``): ``import_feed``,
    ``parse_document``.
Automatically
    Tasks named in ``AGENTCORE_TASK_AUTO_TRACK`` (demo/settings.py) get their row and their
    status from Celery signals; the task only reports progress: ``build_report``,
    ``sync_inventory``.

``send_samples`` starts one round of them; the demo runner calls it every few seconds and
Celery beat does in docker compose.
"""

from __future__ import annotations

import threading
import traceback
import uuid
from typing import Any

from celery import shared_task
from celery.exceptions import Ignore
from django.contrib.auth import get_user_model

from agentcore_task import TaskStatus, TaskTracker, dispatch, prevent_duplicate_task
from agentcore_task.tracking import tracking_user

# --- Tracked by hand ---------------------------------------------------------------------


@shared_task(bind=True, name="demo.tasks.import_feed")
def import_feed(self: Any, feed_id: int) -> dict[str, Any]:
    """Import a feed in three steps, reporting "Step X: message (Y%)" as it goes."""
    task_id = self.request.id
    TaskTracker.update_task_status(task_id, TaskStatus.STARTED)

    TaskTracker.update_progress(task_id, percent=0, step="prepare", message="Fetching the feed…")
    work(1.5)
    entries = 40 + feed_id % 7 * 10
    for done in range(0, entries + 1, 10):
        TaskTracker.update_progress(
            task_id,
            percent=10 + 80 * done // entries,
            step="interpret",
            message=f"Parsing entries ({done}/{entries})…",
            entries_seen=done,  # a business key beside the progress keys
        )
        work(0.6)
    TaskTracker.update_progress(task_id, percent=95, step="finalize", message="Saving…")
    work(1.0)

    result = {"feed_id": feed_id, "entries": entries}
    TaskTracker.update_task_status(
        task_id, TaskStatus.SUCCESS, result=result, metadata={"progress_percent": 100}
    )
    return result


@shared_task(bind=True, name="demo.tasks.parse_document")
def parse_document(self: Any, document: str) -> dict[str, Any]:
    """Parse a document whose third record is broken: fails, and records why."""
    task_id = self.request.id
    TaskTracker.update_task_status(task_id, TaskStatus.STARTED)
    TaskTracker.update_progress(task_id, percent=10, step="prepare", message="Reading…")
    work(1.0)
    try:
        records = _parse_records(task_id, document)
    except ValueError as exc:
        # Record the failure with its traceback, then let Celery see it too.
        TaskTracker.update_task_status(
            task_id, TaskStatus.FAILURE, error=exc, traceback=traceback.format_exc()
        )
        raise
    TaskTracker.update_task_status(task_id, TaskStatus.SUCCESS, result={"records": records})
    return {"records": records}


def _parse_records(task_id: str, document: str) -> int:
    for number in range(1, 6):
        TaskTracker.update_progress(
            task_id,
            percent=10 + number * 15,
            step="interpret",
            message=f"Checking record {number} of 5…",
        )
        work(0.8)
        if number == 3:
            raise ValueError(f"{document}: record 3 has no closing bracket")
    return 5


# --- Tracked automatically (AGENTCORE_TASK_AUTO_TRACK) -------------------------------------


@shared_task(bind=True, name="demo.tasks.build_report")
def build_report(self: Any, days: int = 30) -> dict[str, Any]:
    """A long task to watch: twelve steps of two seconds. Celery signals record its status."""
    steps = 12
    for number in range(steps):
        TaskTracker.update_progress(
            self.request.id,
            percent=100 * number // steps,
            step="aggregate" if number < steps - 2 else "render",
            message=f"Day {number * days // steps + 1} of {days}…",
        )
        work(2.0)
    TaskTracker.update_progress(self.request.id, percent=100, step="done", message="Done")
    return {"days": days, "rows": days * 24}


@shared_task(bind=True, name="demo.tasks.sync_inventory")
@prevent_duplicate_task("demo.sync_inventory", timeout=600, lock_param="warehouse")
def sync_inventory(self: Any, warehouse: str) -> dict[str, Any]:
    """One sync per warehouse at a time: a second call while one runs is skipped.

    The skipped call returns ``{"success": False, "status": "skipped", ...}`` without running
    this body, and auto-tracking records that result.
    """
    for number, message in enumerate(["Counting stock…", "Comparing…", "Writing…"]):
        TaskTracker.update_progress(
            self.request.id, percent=number * 33, step="sync", message=message
        )
        work(1.5)
    TaskTracker.update_progress(self.request.id, percent=100, step="done", message="Synced")
    return {"warehouse": warehouse, "items": 120}


# --- Starting them ------------------------------------------------------------------------


def start_by_hand(task: Any, *, user: Any, **kwargs: Any) -> str:
    """Start ``task`` with ``dispatch``: its row exists before any worker can see the message."""
    execution = dispatch(
        task, kwargs=kwargs, module="demo", created_by=user, metadata={"source": "demo"}
    )
    return execution.task_id


def start_samples(user: Any, round_number: int = 0, long_one: bool = True) -> None:
    """Send one round of sample tasks on behalf of ``user``."""
    # Auto-tracked tasks: tracking_user() says who started the tasks sent inside it.
    with tracking_user(user):
        # Two syncs of one warehouse at once: one runs, the other is skipped by the lock.
        sync_inventory.delay(warehouse="north")
        sync_inventory.delay(warehouse="north")
        if long_one:
            build_report.delay(days=30)
    # Tracked by hand.
    start_by_hand(import_feed, user=user, feed_id=round_number)
    start_by_hand(parse_document, user=user, document=f"orders-{round_number}.csv")


@shared_task(name="demo.tasks.send_samples")
def send_samples(username: str = "demo") -> None:
    """Celery beat's entry point (docker compose): one round of samples for ``username``."""
    user = get_user_model().objects.filter(username=username).first()
    start_samples(user, round_number=uuid.uuid4().int % 1000)


# --- Simulated work ------------------------------------------------------------------------

stopping = threading.Event()
"""Set by the demo runner when it stops, so that sample tasks end at once."""


def work(seconds: float) -> None:
    """Stand for ``seconds`` of real work (I/O, parsing…).

    When the demo runner stops, the task ends here instead: ``Ignore`` makes Celery record
    nothing, and the runner marks the unfinished rows REVOKED.
    """
    if stopping.wait(seconds):
        raise Ignore()
