"""Unit tests for TaskLogCollector: records, ring buffer, thread safety and the logging bridge.

``flush`` is not tested here: it writes through TaskTracker and needs the database.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from agentcore_task.services.logs import TaskLogCollector


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """Give each test its own logger, reset afterwards so tests cannot leak into each other."""
    log = logging.getLogger(f"tests.log_collector.{uuid.uuid4().hex}")
    yield log
    log.setLevel(logging.NOTSET)
    for handler in list(log.handlers):
        log.removeHandler(handler)


def _messages(collector: TaskLogCollector) -> list[str]:
    return [record["message"] for record in collector.get_logs()]


# --- records ---------------------------------------------------------------------------------


def test_record_has_level_message_and_current_timestamp() -> None:
    collector = TaskLogCollector()
    before = time.time()
    collector.info("started")
    after = time.time()

    [record] = collector.get_logs()
    assert set(record) == {"level", "message", "timestamp"}
    assert record["level"] == "INFO"
    assert record["message"] == "started"
    assert isinstance(record["timestamp"], float)
    assert before <= record["timestamp"] <= after


def test_each_level_method_records_its_level_in_call_order() -> None:
    collector = TaskLogCollector()
    collector.debug("d")
    collector.info("i")
    collector.warning("w")
    collector.error("e")
    collector.critical("c")

    assert [(r["level"], r["message"]) for r in collector.get_logs()] == [
        ("DEBUG", "d"),
        ("INFO", "i"),
        ("WARNING", "w"),
        ("ERROR", "e"),
        ("CRITICAL", "c"),
    ]


def test_exception_key_is_absent_when_no_exception_given() -> None:
    collector = TaskLogCollector()
    collector.error("no exception")
    collector.critical("none either", exception=None)

    assert all("exception" not in record for record in collector.get_logs())


def test_error_stores_exception_instance_as_type_name_and_message() -> None:
    collector = TaskLogCollector()
    collector.error("lookup failed", exception=KeyError("user_id"))
    collector.error("bad value", ValueError("must be positive"))

    assert [r["exception"] for r in collector.get_logs()] == [
        "KeyError: 'user_id'",
        "ValueError: must be positive",
    ]


def test_exception_without_message_is_stored_as_its_type_name() -> None:
    collector = TaskLogCollector()
    collector.critical("stopped", exception=KeyboardInterrupt())

    assert collector.get_logs()[0]["exception"] == "KeyboardInterrupt"


def test_exception_string_is_stored_unchanged() -> None:
    collector = TaskLogCollector()
    collector.critical("worker lost", exception="Traceback ...\nRuntimeError: gone")

    assert collector.get_logs()[0]["exception"] == "Traceback ...\nRuntimeError: gone"


def test_non_string_message_is_stored_as_its_str() -> None:
    collector = TaskLogCollector()
    collector.info({"step": 1})
    collector.warning(42)

    assert _messages(collector) == ["{'step': 1}", "42"]


def test_records_are_json_serialisable() -> None:
    collector = TaskLogCollector()
    collector.info(object())
    collector.error("failed", exception=OSError(5, "I/O error"))

    assert json.loads(json.dumps(collector.get_logs())) == collector.get_logs()


def test_get_logs_returns_a_copy_the_caller_cannot_use_to_alter_the_buffer() -> None:
    collector = TaskLogCollector()
    collector.info("original")

    logs = collector.get_logs()
    logs[0]["message"] = "changed"
    logs.append({"level": "INFO", "message": "extra", "timestamp": 0.0})

    assert _messages(collector) == ["original"]


def test_get_warnings_and_errors_keeps_only_warning_error_and_critical() -> None:
    collector = TaskLogCollector()
    collector.debug("d")
    collector.info("i")
    collector.warning("w")
    collector.error("e")
    collector.critical("c")

    assert [r["message"] for r in collector.get_warnings_and_errors()] == ["w", "e", "c"]


def test_get_summary_counts_total_and_each_level() -> None:
    collector = TaskLogCollector()
    for _ in range(3):
        collector.info("i")
    collector.warning("w")
    collector.error("e")
    collector.error("e")

    assert collector.get_summary() == {
        "total": 6,
        "by_level": {"INFO": 3, "WARNING": 1, "ERROR": 2},
    }


def test_get_summary_of_empty_collector_is_zero() -> None:
    assert TaskLogCollector().get_summary() == {"total": 0, "by_level": {}}


def test_len_counts_kept_records() -> None:
    collector = TaskLogCollector(max_records=2)
    assert len(collector) == 0
    collector.info("a")
    assert len(collector) == 1
    collector.info("b")
    collector.info("c")
    assert len(collector) == 2


def test_repr_shows_kept_capacity_dropped_and_level_counts() -> None:
    collector = TaskLogCollector(max_records=2)
    collector.info("a")
    collector.error("b")
    collector.error("c")

    assert repr(collector) == ("<TaskLogCollector 2/2 records, 1 dropped, by_level={'ERROR': 2}>")


def test_clear_removes_records_and_resets_dropped_count() -> None:
    collector = TaskLogCollector(max_records=1)
    collector.info("a")
    collector.info("b")
    assert collector.dropped_count == 1

    collector.clear()

    assert collector.get_logs() == []
    assert len(collector) == 0
    assert collector.dropped_count == 0
    collector.info("after clear")
    assert _messages(collector) == ["after clear"]


# --- ring buffer ---------------------------------------------------------------------------


def test_default_capacity_is_1000_records() -> None:
    collector = TaskLogCollector()
    for i in range(1001):
        collector.info(str(i))

    assert collector.max_records == 1000
    assert len(collector) == 1000
    assert _messages(collector)[0] == "1"


def test_ring_buffer_evicts_oldest_record_when_full() -> None:
    collector = TaskLogCollector(max_records=3)
    for message in ["a", "b", "c", "d", "e"]:
        collector.info(message)

    assert _messages(collector) == ["c", "d", "e"]


def test_dropped_count_counts_each_eviction() -> None:
    collector = TaskLogCollector(max_records=3)
    for i in range(3):
        collector.info(str(i))
    assert collector.dropped_count == 0

    for i in range(3, 10):
        collector.info(str(i))
    assert collector.dropped_count == 7


def test_summary_counts_only_records_still_kept_after_eviction() -> None:
    collector = TaskLogCollector(max_records=2)
    collector.error("evicted")
    collector.info("kept")
    collector.info("kept too")

    assert collector.get_summary() == {"total": 2, "by_level": {"INFO": 2}}
    assert collector.get_warnings_and_errors() == []


def test_assigning_max_records_resizes_keeping_newest_and_counting_drops() -> None:
    collector = TaskLogCollector(max_records=5)
    for message in ["a", "b", "c", "d"]:
        collector.info(message)

    collector.max_records = 2

    assert collector.max_records == 2
    assert _messages(collector) == ["c", "d"]
    assert collector.dropped_count == 2


def test_records_attribute_is_a_snapshot_of_the_logs() -> None:
    collector = TaskLogCollector()
    collector.info("a")

    assert collector.records == collector.get_logs()
    collector.records.clear()
    assert len(collector) == 1


@pytest.mark.parametrize("bad", [0, -1])
def test_non_positive_max_records_raises_value_error(bad: int) -> None:
    with pytest.raises(ValueError, match="max_records must be a positive int"):
        TaskLogCollector(max_records=bad)


@pytest.mark.parametrize("bad", ["10", 1.5, None, True])
def test_non_int_max_records_raises_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="max_records must be an int"):
        TaskLogCollector(max_records=bad)  # type: ignore[arg-type]


def test_assigning_invalid_max_records_raises_and_keeps_buffer() -> None:
    collector = TaskLogCollector(max_records=3)
    collector.info("a")

    with pytest.raises(ValueError):
        collector.max_records = 0

    assert collector.max_records == 3
    assert _messages(collector) == ["a"]


# --- threads -------------------------------------------------------------------------------


def _append_from_threads(collector: TaskLogCollector, threads: int, per_thread: int) -> None:
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            collector.info(f"{n}:{i}")

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def test_concurrent_appends_from_threads_are_all_kept() -> None:
    collector = TaskLogCollector(max_records=50_000)

    _append_from_threads(collector, threads=8, per_thread=1250)

    messages = _messages(collector)
    assert len(messages) == 10_000
    assert len(set(messages)) == 10_000
    assert collector.dropped_count == 0
    assert collector.get_summary() == {"total": 10_000, "by_level": {"INFO": 10_000}}
    for n in range(8):  # each thread's own records stay in its order
        own = [int(m.split(":")[1]) for m in messages if m.startswith(f"{n}:")]
        assert own == list(range(1250))


def test_concurrent_appends_past_capacity_count_every_drop() -> None:
    collector = TaskLogCollector(max_records=100)

    _append_from_threads(collector, threads=8, per_thread=1250)

    assert len(collector) == 100
    assert collector.dropped_count == 9_900


def test_reading_while_another_thread_appends_never_fails() -> None:
    # Switch threads often so a read overlaps an append; iterating an unlocked deque while
    # another thread appends raises "RuntimeError: deque mutated during iteration".
    collector = TaskLogCollector(max_records=5_000)
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            collector.info("x")

    previous = sys.getswitchinterval()
    writer = threading.Thread(target=write)
    try:
        sys.setswitchinterval(1e-6)
        writer.start()
        for _ in range(300):
            assert collector.get_summary()["total"] <= 5_000
            collector.get_logs()
            collector.get_warnings_and_errors()
    finally:
        stop.set()
        if writer.is_alive():
            writer.join()
        sys.setswitchinterval(previous)


# --- logging bridge ------------------------------------------------------------------------


def test_handler_appends_formatted_message_with_level(logger: logging.Logger) -> None:
    collector = TaskLogCollector()
    logger.setLevel(logging.DEBUG)
    logger.addHandler(collector.handler())

    logger.info("processed %d of %s", 3, "files")
    logger.error("failed")

    assert [(r["level"], r["message"]) for r in collector.get_logs()] == [
        ("INFO", "processed 3 of files"),
        ("ERROR", "failed"),
    ]


def test_handler_ignores_records_below_its_level(logger: logging.Logger) -> None:
    collector = TaskLogCollector()
    logger.setLevel(logging.DEBUG)
    logger.addHandler(collector.handler(level=logging.WARNING))

    logger.debug("d")
    logger.info("i")
    logger.warning("w")
    logger.critical("c")

    assert [r["level"] for r in collector.get_logs()] == ["WARNING", "CRITICAL"]


def test_handler_uses_the_log_record_creation_time() -> None:
    collector = TaskLogCollector()
    record = logging.makeLogRecord({"levelname": "INFO", "levelno": 20, "msg": "m"})
    record.created = 1_700_000_000.5

    collector.handler().handle(record)

    assert collector.get_logs()[0]["timestamp"] == 1_700_000_000.5


@pytest.mark.parametrize(
    ("levelname", "expected"),
    [
        ("WARN", "WARNING"),
        ("FATAL", "CRITICAL"),
        ("WARNING", "WARNING"),
        ("DEBUG", "DEBUG"),
        ("TRACE", "TRACE"),
    ],
)
def test_handler_maps_logging_levelnames(levelname: str, expected: str) -> None:
    collector = TaskLogCollector()
    record = logging.makeLogRecord({"levelname": levelname, "levelno": 30, "msg": "m"})

    collector.handler(level=logging.NOTSET).handle(record)

    assert collector.get_logs()[0]["level"] == expected


def test_handler_captures_exc_info_as_formatted_traceback(logger: logging.Logger) -> None:
    collector = TaskLogCollector()
    logger.addHandler(collector.handler())

    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("step failed")

    [record] = collector.get_logs()
    assert record["level"] == "ERROR"
    assert record["message"] == "step failed"
    assert record["exception"].startswith("Traceback (most recent call last):")
    assert record["exception"].endswith("ValueError: boom")


def test_handler_omits_exception_when_record_has_none(logger: logging.Logger) -> None:
    collector = TaskLogCollector()
    logger.addHandler(collector.handler())

    logger.exception("outside an except block")  # exc_info is (None, None, None)
    logger.warning("plain")

    assert all("exception" not in r for r in collector.get_logs())


def test_handler_does_not_raise_when_message_formatting_fails(
    logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging, "raiseExceptions", False)
    collector = TaskLogCollector()
    logger.addHandler(collector.handler())

    logger.warning("%d items", "not a number")

    assert collector.get_logs() == []


def test_capture_collects_named_logger_only_inside_the_block(logger: logging.Logger) -> None:
    collector = TaskLogCollector()
    logger.setLevel(logging.INFO)

    with collector.capture(logger.name) as handler:
        assert handler in logger.handlers
        logger.info("inside")
    logger.info("after")

    assert _messages(collector) == ["inside"]
    assert handler not in logger.handlers


def test_capture_accepts_a_logger_instance_and_its_children(logger: logging.Logger) -> None:
    collector = TaskLogCollector()

    with collector.capture(logger):
        logging.getLogger(f"{logger.name}.child").info("from child")

    assert _messages(collector) == ["from child"]


def test_capture_without_logger_attaches_to_root() -> None:
    collector = TaskLogCollector()
    root = logging.getLogger()
    root_level = root.level

    with collector.capture(level=logging.WARNING) as handler:
        assert handler in root.handlers
        logging.getLogger("tests.log_collector.anywhere").warning("via root")

    assert "via root" in _messages(collector)
    assert handler not in root.handlers
    assert root.level == root_level


def test_capture_removes_handler_and_restores_level_when_block_raises(
    logger: logging.Logger,
) -> None:
    collector = TaskLogCollector()
    logger.setLevel(logging.ERROR)

    with pytest.raises(RuntimeError, match="task failed"), collector.capture(logger) as handler:
        logger.info("before failure")
        raise RuntimeError("task failed")

    assert handler not in logger.handlers
    assert logger.level == logging.ERROR
    assert _messages(collector) == ["before failure"]


def test_capture_lowers_a_stricter_level_for_the_block_and_restores_it(
    logger: logging.Logger,
) -> None:
    collector = TaskLogCollector()
    logger.setLevel(logging.WARNING)

    with collector.capture(logger, level=logging.DEBUG):
        assert logger.level == logging.DEBUG
        logger.debug("debug passes")

    assert logger.level == logging.WARNING
    assert _messages(collector) == ["debug passes"]


def test_capture_restores_notset_level_of_an_inheriting_logger(logger: logging.Logger) -> None:
    collector = TaskLogCollector()
    assert logger.level == logging.NOTSET
    root = logging.getLogger()
    root_level = root.level
    root.setLevel(logging.WARNING)  # the logger inherits WARNING, which would drop INFO
    try:
        with collector.capture(logger, level=logging.INFO):
            logger.info("inherited WARNING would have dropped this")
    finally:
        root.setLevel(root_level)

    assert logger.level == logging.NOTSET
    assert _messages(collector) == ["inherited WARNING would have dropped this"]


def test_capture_leaves_an_already_permissive_level_alone(logger: logging.Logger) -> None:
    collector = TaskLogCollector()
    logger.setLevel(logging.DEBUG)

    with collector.capture(logger, level=logging.INFO):
        assert logger.level == logging.DEBUG
        logger.debug("below the handler level")
        logger.info("at the handler level")

    assert logger.level == logging.DEBUG
    assert _messages(collector) == ["at the handler level"]
