"""How the dashboard writes numbers, durations and progress (pure functions)."""

from __future__ import annotations

import pytest

from agentcore_task.dashboard import present
from agentcore_task.dashboard.present import duration_text, percent, short_number


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1k"),
        (12_345, "12.3k"),
        (123_456, "123k"),
        (999_950, "1M"),
        (4_100_000, "4.1M"),
        (-1500, "-1.5k"),
        (2_000_000_000, "2B"),
    ],
)
def test_short_number(value: int, text: str) -> None:
    assert short_number(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0.4219, "0.42 s"), (12.34, "12.3 s"), (245, "4 min 05 s"), (7380, "2 h 03 min")],
)
def test_duration_text(seconds: float | None, text: str) -> None:
    assert duration_text(seconds) == text


def test_percent_reads_numbers_only_and_clamps() -> None:
    assert percent({"progress_percent": 42.9}, "STARTED") == 42
    assert percent({"progress_percent": 140}, "STARTED") == 100
    assert percent({"progress_percent": True}, "STARTED") is None
    assert percent({"progress_percent": "50"}, "STARTED") is None
    assert percent({}, "SUCCESS") == 100
    assert percent(None, "PENDING") is None


def test_the_status_history_reads_the_triggers_entries_and_survives_odd_ones() -> None:
    entries = [
        {"status": "PENDING", "at": "2026-01-02T03:04:05.123456+00:00", "worker": None},
        {"status": "STARTED", "at": "2026-01-02T03:04:06Z", "worker": "celery@host-1"},
        {"status": "FAILURE", "at": "not a time"},
        "not an entry",
        {"at": "2026-01-02T03:04:07Z"},
    ]
    shown = present.history(entries)
    assert [entry.status for entry in shown] == ["PENDING", "STARTED", "FAILURE"]
    assert [entry.worker for entry in shown] == ["", "celery@host-1", ""]
    assert shown[0].at is not None and shown[0].at.iso == "2026-01-02T03:04:05.123456+00:00"
    assert shown[2].at is None and shown[2].status_class == "status-failure"
    assert present.history(None) == []
