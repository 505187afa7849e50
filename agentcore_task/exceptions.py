"""The library's own exception classes, and the one way it describes an exception in a log.

Each is re-exported by the module that raises it (``agentcore_task.runtime_config``,
``agentcore_task.locks``, ``agentcore_task.services.stats``), so both import paths name the same
class. Pure: importing this
module loads neither Django's models nor Celery.
"""

from __future__ import annotations

__all__ = [
    "ExecutionFinished",
    "ExecutionNotFinished",
    "ExecutionStateError",
    "FilterError",
    "LockBackendError",
    "RedactedArguments",
    "RuntimeConfigError",
    "StatsArgumentError",
    "exception_text",
    "first_line",
]


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


class RuntimeConfigError(ValueError):
    """Invalid runtime configuration; ``errors`` maps each bad field to its messages.

    A ``ValueError``, so that code which treats any bad value alike needs no new clause; the
    per-field ``errors`` are what the API returns as its 400 body.
    """

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        problems = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
        super().__init__(f"invalid runtime configuration: {problems}")


class ExecutionStateError(Exception):
    """The execution's state does not allow the action (the API answers 409 with the text)."""


class ExecutionFinished(ExecutionStateError):
    """Revoking an execution that already finished: there is nothing left to stop."""


class ExecutionNotFinished(ExecutionStateError):
    """Retrying an execution that has not finished: it may still run, or be running."""


class RedactedArguments(ExecutionStateError):
    """Retrying an execution whose stored arguments were redacted; ``keys`` names them."""

    def __init__(self, message: str, keys: list[str]) -> None:
        super().__init__(message)
        self.keys = keys


class LockBackendError(Exception):
    """The lock backend's server could not be reached or refused the request.

    The plain lock functions turn it into a logged ``False``; the decorator applies
    ``AGENTCORE_TASK_LOCK_FAIL_OPEN`` to it.
    """


def exception_text(error: BaseException) -> str:
    """Return ``str(error)``, or its ``repr`` when ``__str__`` itself raises.

    An exception class with a broken ``__str__`` must not turn the recording of a failure into
    a second failure inside the task; the JSON conversion falls back the same way.
    """
    try:
        return str(error)
    except Exception:
        try:
            return repr(error)
        except Exception:
            return f"<{type(error).__name__} whose str() and repr() raise>"


def first_line(error: BaseException) -> str:
    """Return the first line of the exception's text, for one-line log messages."""
    text = exception_text(error).strip()
    return text.splitlines()[0] if text else ""
