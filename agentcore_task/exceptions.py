"""The library's own exceptions."""

from __future__ import annotations


class FilterError(ValueError):
    """Invalid filter values; ``errors`` maps each bad parameter to its messages."""

    label = "filter"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        problems = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        super().__init__(f"invalid {self.label}(s): {problems}")


class StatsArgumentError(FilterError):
    """Invalid stats arguments (filters, granularity, include); ``errors`` names each."""

    label = "stats argument"
