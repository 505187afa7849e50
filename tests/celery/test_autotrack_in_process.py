"""Automatic tracking rules that need no worker: patterns, exclusions, eager runs, the user."""

from __future__ import annotations

import asyncio
import threading

import pytest
from celery import signals
from django.test import override_settings

from agentcore_task.autotrack import connect_signals, is_tracked, module_for, on_success
from agentcore_task.models import TaskExecution
from agentcore_task.tracking import current_tracking_user_id, tracking_user
from tests.celery_tasks import plain_add, tracked_add, tracked_billing, tracked_fail


@pytest.mark.parametrize(
    ("setting", "name", "tracked"),
    [
        (False, "billing.tasks.charge", False),
        (True, "billing.tasks.charge", True),
        (["billing.*"], "billing.tasks.charge", True),
        (["billing.*"], "mail.tasks.send", False),
        (["*.send"], "mail.tasks.send", True),
        (["Billing.*"], "billing.tasks.charge", False),  # patterns are case-sensitive
        (True, "agentcore_task.adapters.django.tasks.cleanup_old_task_executions", False),
        (["*"], "agentcore_task.tasks.anything", False),
        (True, "celery.chord_unlock", False),
    ],
)
def test_tracked_task_names_follow_the_setting(setting, name, tracked):
    with override_settings(AGENTCORE_TASK_AUTO_TRACK=setting):
        assert is_tracked(name) is tracked


def test_module_is_the_first_dotted_part_unless_the_task_names_one():
    assert module_for("billing.tasks.charge") == "billing"
    assert module_for("standalone") == "standalone"
    assert module_for("tests.tracked.charge", tracked_billing) == "billing"


def test_connecting_twice_keeps_one_receiver_per_signal():
    before = len(signals.task_success.receivers)
    connect_signals()
    connect_signals()
    assert len(signals.task_success.receivers) == before
    assert [r for _, r in signals.task_success.receivers].count(on_success) == 1  # weak=False


@override_settings(AGENTCORE_TASK_AUTO_TRACK=["tests.tracked.*"])
def test_an_eager_run_is_tracked_with_the_user_of_the_block(db, make_user):
    user = make_user()
    with tracking_user(user):
        result = tracked_add.apply((1, 2))

    row = TaskExecution.objects.get(task_id=result.id)
    assert (row.status, row.result, row.created_by_id) == (
        "SUCCESS",
        {"sum": 3, "inputs": [1, 2]},
        user.pk,
    )
    assert row.started_at is not None and row.finished_at is not None


@override_settings(AGENTCORE_TASK_AUTO_TRACK=["tests.tracked.*"])
def test_an_eager_failure_is_tracked_with_its_traceback(db):
    result = tracked_fail.apply(("bad",))

    row = TaskExecution.objects.get(task_id=result.id)
    assert (row.status, row.error) == ("FAILURE", "ValueError: bad")
    assert "ValueError: bad" in row.traceback


@override_settings(AGENTCORE_TASK_AUTO_TRACK=["tests.tracked.*"])
def test_an_eager_run_outside_the_patterns_is_not_tracked(db):
    assert not TaskExecution.objects.filter(task_id=plain_add.apply((1, 2)).id).exists()


def test_tracking_user_is_scoped_to_its_block_and_context(make_user):
    user, other = make_user(), make_user()
    seen: dict[str, int | None] = {}

    async def in_task(name: str) -> None:
        await asyncio.sleep(0)
        seen[name] = current_tracking_user_id()

    async def main() -> None:
        with tracking_user(user):
            first = asyncio.create_task(in_task("inherits"))
        with tracking_user(other):
            await asyncio.gather(first, in_task("own"))

    with tracking_user(user):
        with tracking_user(other.pk):
            assert current_tracking_user_id() == other.pk
        assert current_tracking_user_id() == user.pk
        thread = threading.Thread(target=lambda: seen.update(thread=current_tracking_user_id()))
        thread.start()
        thread.join()
    assert current_tracking_user_id() is None
    asyncio.run(main())
    assert seen == {"thread": None, "inherits": user.pk, "own": other.pk}


def test_tracking_user_refuses_what_is_not_a_user():
    with pytest.raises(TypeError), tracking_user("alice"):
        pass


@override_settings(AGENTCORE_TASK_AUTO_TRACK=["tests.tracked.*"])
def test_a_deleted_publisher_does_not_cost_the_row(db, make_user, caplog):
    user = make_user()
    gone = user.pk
    user.delete()
    with tracking_user(gone):
        result = tracked_add.apply((2, 2))

    row = TaskExecution.objects.get(task_id=result.id)
    assert (row.status, row.created_by_id) == ("SUCCESS", None)
    assert "without a creator" in caplog.text


@override_settings(AGENTCORE_TASK_AUTO_TRACK=["tests.tracked.*"])
def test_a_failure_whose_exception_cannot_be_printed_is_still_recorded(db):
    from tests.celery_tasks import tracked_unprintable

    result = tracked_unprintable.apply()

    row = TaskExecution.objects.get(task_id=result.id)
    assert row.status == "FAILURE"
    assert row.error.startswith("UnprintableError")
