"""``@prevent_duplicate_task``: which calls share a lock, what a skipped call returns."""

from __future__ import annotations

import datetime as dt
import inspect
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from agentcore_task.locks import is_task_locked, prevent_duplicate_task
from agentcore_task.locks.cache import cache_key
from agentcore_task.locks.decorator import lock_name_for_value
from tests.lock_workers import fresh_lock_sessions, unique_name  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.django_db  # the advisory backend locks in the test database

SKIP_KEYS = {"success", "status", "reason", "error"}


@pytest.fixture(params=["cache", "advisory"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Gate:
    """Make one call of a decorated function block inside its body until released."""

    def __init__(self) -> None:
        self.inside = threading.Event()
        self.leave = threading.Event()
        self.holder: threading.Thread | None = None

    def wait_here(self) -> None:
        """Called from the body: block if this is the holder's call."""
        if threading.current_thread() is self.holder:
            self.inside.set()
            assert self.leave.wait(30)

    @contextmanager
    def holding(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[None]:
        """Run ``function(*args, **kwargs)`` in a thread that stays in the body meanwhile."""
        results: list[Any] = []
        self.holder = threading.Thread(target=lambda: results.append(function(*args, **kwargs)))
        self.holder.start()
        assert self.inside.wait(30), "the holder's call never entered the body"
        try:
            yield
        finally:
            self.leave.set()
            self.holder.join(30)
            self.inside.clear()
            self.leave.clear()
        assert results and not is_skipped(results[0]), results


def is_skipped(result: Any) -> bool:
    return isinstance(result, dict) and result.get("status") == "skipped"


@pytest.mark.smoke
def test_a_call_while_the_lock_is_held_is_skipped_with_the_documented_result(backend):
    gate, name, runs = Gate(), unique_name(), []

    @prevent_duplicate_task(name, timeout=60, backend=backend)
    def nightly() -> str:
        runs.append(1)
        gate.wait_here()
        return "done"

    with gate.holding(nightly):
        assert is_task_locked(name, backend=backend)
        result = nightly()

    assert set(result) == SKIP_KEYS
    assert (result["success"], result["status"], result["reason"]) == (
        False,
        "skipped",
        "task_already_running",
    )
    assert name in result["error"] and "nightly" in result["error"]
    assert runs == [1], "the skipped call did not run the body"
    assert not is_task_locked(name, backend=backend), "released when the body returned"
    assert nightly() == "done"


def test_positional_keyword_and_default_arguments_share_the_lock_of_their_value(backend):
    gate, name = Gate(), unique_name()

    @prevent_duplicate_task(name, lock_param="feed_id", backend=backend)
    def import_feed(feed_id: int = 7, mode: str = "full") -> tuple[int, str]:
        gate.wait_here()
        return feed_id, mode

    with gate.holding(import_feed, 7):
        assert is_task_locked(lock_name_for_value(name, "feed_id", 7), backend=backend)
        assert is_skipped(import_feed(7))
        assert is_skipped(import_feed(feed_id=7))
        assert is_skipped(import_feed())
        assert is_skipped(import_feed(7, mode="delta")), "other parameters do not scope it"
        assert import_feed(8) == (8, "full"), "another value runs at the same time"
        assert import_feed(feed_id=9, mode="delta") == (9, "delta")
    assert import_feed() == (7, "full")


@pytest.mark.parametrize("held", [0, "", False, None])
def test_falsy_values_are_values_of_their_own(backend, held):
    gate, name = Gate(), unique_name()

    @prevent_duplicate_task(name, lock_param="value", backend=backend)
    def work(value: Any) -> Any:
        gate.wait_here()
        return value

    with gate.holding(work, held):
        assert is_skipped(work(held))
        for other in [0, "", False, None, "0", "false", "null"]:
            if type(other) is not type(held) or other != held:
                assert work(other) == other, f"{other!r} was blocked by {held!r}"


def test_a_bound_task_self_parameter_does_not_scope_the_lock(backend):
    gate, name = Gate(), unique_name()

    class FakeTask:
        pass

    @prevent_duplicate_task(name, lock_param="feed_id", backend=backend)
    def run(self: Any, feed_id: int) -> int:
        gate.wait_here()
        return feed_id

    with gate.holding(run, FakeTask(), 3):
        assert is_skipped(run(FakeTask(), 3)), "another task instance, same value"
        assert is_skipped(run(FakeTask(), feed_id=3))
        assert run(FakeTask(), 4) == 4


def test_a_celery_bind_true_task_is_locked_by_its_parameter(backend):
    from celery import Celery

    app = Celery("lock-tests", set_as_current=False)
    app.conf.task_always_eager = True
    name = unique_name()

    @app.task(bind=True, name=f"tests.{name}")
    @prevent_duplicate_task(name, lock_param="feed_id", backend=backend)
    def import_feed(self: Any, feed_id: int) -> dict[str, Any]:
        held = is_task_locked(lock_name_for_value(name, "feed_id", feed_id), backend=backend)
        return {"task": self.name, "held": held}

    assert import_feed.run.__name__ == "import_feed"
    assert import_feed(5) == {"task": f"tests.{name}", "held": True}
    assert import_feed.apply(kwargs={"feed_id": 6}).get() == {"task": f"tests.{name}", "held": True}
    assert not is_task_locked(lock_name_for_value(name, "feed_id", 5), backend=backend)


def test_different_lock_params_never_share_a_lock(backend):
    gate, name = Gate(), unique_name()

    @prevent_duplicate_task(name, lock_param="a", backend=backend)
    def by_a(a: int) -> str:
        gate.wait_here()
        return "a"

    @prevent_duplicate_task(name, lock_param="b", backend=backend)
    def by_b(b: int) -> str:
        return "b"

    with gate.holding(by_a, 1):
        assert by_b(1) == "b"


def test_kwargs_functions_scope_by_the_key_or_its_absence(backend):
    gate, name = Gate(), unique_name()

    @prevent_duplicate_task(name, lock_param="tenant", backend=backend)
    def sync(**options: Any) -> Any:
        gate.wait_here()
        return options.get("tenant", "absent")

    with gate.holding(sync, tenant=1):
        assert is_skipped(sync(tenant=1))
        assert sync(tenant=2) == 2
        assert sync() == "absent"
    with gate.holding(sync):
        assert is_skipped(sync())
        assert sync(tenant=None) is None, "an absent key is not a None value"


def test_long_and_structured_values_are_hashed_and_key_order_does_not_matter(backend):
    gate, name = Gate(), unique_name()

    @prevent_duplicate_task(name, lock_param="spec", backend=backend)
    def build(spec: Any) -> str:
        gate.wait_here()
        return "built"

    spec = {"items": list(range(50)), "mode": "full"}
    lock_name = lock_name_for_value(name, "spec", spec)
    assert re.fullmatch(rf"{re.escape(name)}:spec=sha256:[0-9a-f]{{32}}", lock_name)
    with gate.holding(build, spec):
        assert is_task_locked(lock_name, backend=backend)
        assert is_skipped(build({"mode": "full", "items": list(range(50))}))
        assert build({**spec, "mode": "delta"}) == "built"


@pytest.mark.parametrize(
    ("value", "equal_other_type"),
    [
        (Decimal("7"), "7"),
        (Decimal("7"), 7),
        (uuid.UUID(int=5), str(uuid.UUID(int=5))),
        ((1, 2), [1, 2]),
        (7, 7.0),
        (1, True),
        (frozenset({1}), (1,)),
        (dt.date(2026, 1, 2), "2026-01-02"),
        (b"ab", "ab"),
    ],
)
def test_equal_values_of_different_types_never_share_a_lock(backend, value, equal_other_type):
    gate, name = Gate(), unique_name()

    @prevent_duplicate_task(name, lock_param="v", backend=backend)
    def work(v: Any) -> str:
        gate.wait_here()
        return "ran"

    assert lock_name_for_value(name, "v", value) != lock_name_for_value(name, "v", equal_other_type)
    with gate.holding(work, value):
        assert is_skipped(work(value))
        assert work(equal_other_type) == "ran", f"{equal_other_type!r} blocked by {value!r}"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (Decimal("1.0"), Decimal("1.00")),
        ({"b": 1, "a": 2}, {"a": 2, "b": 1}),
        ({3, "x", 1.5, None, (1, 2)}, {(1, 2), None, 1.5, "x", 3}),
        (frozenset({"a", "b"}), {"b", "a"}),
        ({"k": {2, 1}}, {"k": {1, 2}}),
    ],
)
def test_equal_values_of_one_type_share_a_lock(one, other):
    assert lock_name_for_value("n", "p", one) == lock_name_for_value("n", "p", other)


SET_NAME_SCRIPT = (
    "from agentcore_task.locks.decorator import lock_name_for_value as f; "
    "print(f('n', 'p', {'alpha', 'beta', 'gamma', 'delta', 3, (1, 'x'), None, 2.5}))"
)


def test_a_set_value_gives_the_same_lock_name_in_every_process():
    names = {
        subprocess.run(
            [sys.executable, "-c", SET_NAME_SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in (1, 2, 3, 4, 5, 6)
    }
    assert len(names) == 1, names


class NoText:
    pass


@pytest.mark.parametrize("value", [NoText(), object(), [NoText()], {"k": {1: NoText()}}])
def test_a_value_without_a_stable_text_is_a_clear_type_error(backend, value):
    @prevent_duplicate_task(unique_name(), lock_param="v", backend=backend)
    def work(v: Any) -> str:
        return "ran"

    with pytest.raises(TypeError, match=r"lock_param 'v'.*(NoText|object)"):
        work(value)


def test_a_circular_value_is_a_clear_type_error():
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(TypeError, match="circular"):
        lock_name_for_value("n", "p", circular)


def test_objects_with_their_own_text_are_named_by_type_and_text():
    class Feed:
        def __init__(self, pk: int) -> None:
            self.pk = pk

        def __str__(self) -> str:
            return f"feed {self.pk}"

    assert lock_name_for_value("n", "p", Feed(1)) == lock_name_for_value("n", "p", Feed(1))
    assert lock_name_for_value("n", "p", Feed(1)) != lock_name_for_value("n", "p", "feed 1")


SECRET_VALUE = "ann@example.com:s3cr3t-token"


def test_the_raw_value_never_reaches_the_key_the_logs_or_the_skipped_result(backend, caplog):
    gate, name = Gate(), unique_name()

    @prevent_duplicate_task(name, lock_param="token", backend=backend)
    def work(token: str) -> str:
        gate.wait_here()
        return "ran"

    lock_name = lock_name_for_value(name, "token", SECRET_VALUE)
    assert SECRET_VALUE not in lock_name and "s3cr3t" not in cache_key(lock_name)
    with caplog.at_level("DEBUG", logger="agentcore_task"), gate.holding(work, SECRET_VALUE):
        skipped = work(SECRET_VALUE)
    assert is_skipped(skipped)
    assert "s3cr3t" not in repr(skipped)
    assert "s3cr3t" not in caplog.text
    assert lock_name in skipped["error"]


def test_the_body_raising_releases_the_lock_and_the_error_reaches_the_caller(backend):
    name = unique_name()

    @prevent_duplicate_task(name, lock_param="n", backend=backend)
    def fail(n: int) -> None:
        assert is_task_locked(lock_name_for_value(name, "n", n), backend=backend)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail(1)
    assert not is_task_locked(lock_name_for_value(name, "n", 1), backend=backend)


def test_a_call_that_does_not_fit_the_signature_gets_pythons_own_type_error():
    @prevent_duplicate_task(unique_name(), lock_param="feed_id")
    def import_feed(feed_id: int) -> int:
        return feed_id

    with pytest.raises(TypeError, match=r"import_feed\(\) missing 1 required positional"):
        import_feed()
    with pytest.raises(TypeError, match="unexpected keyword argument 'feed'"):
        import_feed(feed=1)


def test_the_wrapper_looks_like_the_function():
    def import_feed(feed_id: int, mode: str = "full") -> int:
        """Import one feed."""
        return feed_id

    wrapped = prevent_duplicate_task("x", lock_param="feed_id")(import_feed)
    assert wrapped.__name__ == "import_feed" and wrapped.__doc__ == "Import one feed."
    assert wrapped.__wrapped__ is import_feed  # type: ignore[attr-defined]
    assert inspect.signature(wrapped) == inspect.signature(import_feed)


def plain(feed_id: int, *args: Any) -> None:
    pass


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: prevent_duplicate_task("x", lock_param="nope")(plain), ValueError),
        (lambda: prevent_duplicate_task("x", lock_param="args")(plain), ValueError),
        (lambda: prevent_duplicate_task("x", lock_param=3)(plain), TypeError),
        (lambda: prevent_duplicate_task("", lock_param="feed_id"), ValueError),
        (lambda: prevent_duplicate_task("x", timeout=0), ValueError),
        (lambda: prevent_duplicate_task("x", timeout="1"), TypeError),
        (lambda: prevent_duplicate_task("x", backend="memcached"), ValueError),
    ],
)
def test_mistakes_in_the_decoration_raise_at_decoration_time(make, error):
    with pytest.raises(error):
        make()
