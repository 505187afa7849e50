"""Every ``AGENTCORE_TASK_*`` setting, read at call time so ``override_settings`` works.

This is the only module that reads them. Each function documents its setting and default;
the README's settings table lists the same.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from django.conf import settings

from agentcore_task.jsonsafe import SecretKeys
from agentcore_task.validation import checked_int

# Regular expressions searched in normalised key names (case folded, every character that is
# not a letter or digit dropped): "X-Api-Key", "api_key" and "apiKey" are all "apikey".
DEFAULT_REDACT_KEYS: tuple[str, ...] = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "api.?key",
    "access.?key",
    "private.?key",
    "signing.?key",
    "encryption.?key",
    "authorization",
    "^auth$",
    "bearer",
    "cookie",
    "session",
    "credential",
    "csrf",
    "jwt",
    "dsn",
)

# Normalised names a pattern matches that are not secrets: counters of language-model tokens.
DEFAULT_REDACT_ALLOW: tuple[str, ...] = (
    "token_count",
    "tokens_used",
    "max_tokens",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "tokenizer",
)


def _get(name: str, default: object) -> object:
    return getattr(settings, name, default)


def is_set(name: str) -> bool:
    """Return whether the project's settings define ``name`` (else its default applies)."""
    return hasattr(settings, name)


def strict() -> bool:
    """``AGENTCORE_TASK_STRICT`` (default False): raise recording failures instead of logging."""
    return bool(_get("AGENTCORE_TASK_STRICT", False))


def write_pause_seconds() -> float:
    """``AGENTCORE_TASK_WRITE_PAUSE_SECONDS`` (default 5): pause after the database is lost.

    When a write fails because the database cannot be reached, and a retry on a fresh
    connection fails too, the tracker skips its writes for this many seconds (logged once)
    instead of waiting for the connect timeout on every write. 0 turns the pause off.
    """
    value = _get("AGENTCORE_TASK_WRITE_PAUSE_SECONDS", 5)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(
            f"AGENTCORE_TASK_WRITE_PAUSE_SECONDS must be a number of seconds >= 0, not {value!r}"
        )
    return float(value)


def max_result_bytes() -> int:
    """``AGENTCORE_TASK_MAX_RESULT_BYTES`` (default 1 MiB): cap on a stored JSON value."""
    return int(_get("AGENTCORE_TASK_MAX_RESULT_BYTES", 1024 * 1024))  # type: ignore[call-overload]


def max_traceback_chars() -> int:
    """``AGENTCORE_TASK_MAX_TRACEBACK_CHARS`` (default 20,000): cap on stored error/traceback."""
    return int(_get("AGENTCORE_TASK_MAX_TRACEBACK_CHARS", 20_000))  # type: ignore[call-overload]


def redact_keys() -> SecretKeys:
    """``AGENTCORE_TASK_REDACT_KEYS`` and ``AGENTCORE_TASK_REDACT_ALLOW``: what is a secret.

    ``AGENTCORE_TASK_REDACT_KEYS`` (default :data:`DEFAULT_REDACT_KEYS`) are patterns searched
    in normalised key names; an empty list turns redaction (and URL credential masking) off.
    ``AGENTCORE_TASK_REDACT_ALLOW`` (default :data:`DEFAULT_REDACT_ALLOW`) are exact names
    never redacted. The result answers ``key in redact_keys()`` and ``.is_secret(key)``.
    """
    patterns = _string_list("AGENTCORE_TASK_REDACT_KEYS", DEFAULT_REDACT_KEYS)
    allow = _string_list("AGENTCORE_TASK_REDACT_ALLOW", DEFAULT_REDACT_ALLOW)
    return _secret_keys(patterns, allow)


@functools.lru_cache(maxsize=8)
def _secret_keys(patterns: tuple[str, ...], allow: tuple[str, ...]) -> SecretKeys:
    """Compile once per distinct setting: the regex is rebuilt only when the setting changes."""
    return SecretKeys(patterns, allow)


def _string_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    values = _get(name, default)
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a list of strings")
    return tuple(str(value) for value in values)


def metadata_list_max_items() -> int:
    """``AGENTCORE_TASK_METADATA_LIST_MAX_ITEMS`` (default 200): cap on appended metadata lists.

    When an append would make a list longer, the oldest items are dropped.
    """
    return int(_get("AGENTCORE_TASK_METADATA_LIST_MAX_ITEMS", 200))  # type: ignore[call-overload]


LOCK_BACKENDS = ("cache", "advisory")


def lock_backend() -> str:
    """``AGENTCORE_TASK_LOCK_BACKEND`` (default ``"cache"``): ``"cache"`` or ``"advisory"``."""
    value = _get("AGENTCORE_TASK_LOCK_BACKEND", "cache")
    if value not in LOCK_BACKENDS:
        raise ValueError(
            f"AGENTCORE_TASK_LOCK_BACKEND must be one of {', '.join(LOCK_BACKENDS)}, not {value!r}"
        )
    return str(value)


def lock_cache_alias() -> str:
    """``AGENTCORE_TASK_LOCK_CACHE`` (default ``"default"``): the cache the cache backend uses."""
    return str(_get("AGENTCORE_TASK_LOCK_CACHE", "default"))


def lock_database_alias() -> str:
    """``AGENTCORE_TASK_LOCK_DATABASE`` (default ``"default"``): the database of advisory locks.

    Point it at a direct connection when ``default`` goes through a transaction-pooling
    PgBouncer: session advisory locks need the same server session for lock and unlock.
    """
    return str(_get("AGENTCORE_TASK_LOCK_DATABASE", "default"))


def advisory_lock_names() -> bool:
    """``AGENTCORE_TASK_ADVISORY_LOCK_NAMES`` (default True): record each advisory lock's name
    beside its key, so held locks can be listed by name (an upsert in the locking statement)."""
    return bool(_get("AGENTCORE_TASK_ADVISORY_LOCK_NAMES", True))


def lock_fail_open() -> bool:
    """``AGENTCORE_TASK_LOCK_FAIL_OPEN`` (default False): run the body when locking is down.

    False skips the decorated call (reason ``lock_unavailable``) and logs an ERROR; True runs
    it without the lock and logs a WARNING.
    """
    return bool(_get("AGENTCORE_TASK_LOCK_FAIL_OPEN", False))


def api_page_size() -> int:
    """``AGENTCORE_TASK_API_PAGE_SIZE`` (default 10): list page size when none is asked for."""
    return int(_get("AGENTCORE_TASK_API_PAGE_SIZE", 10))  # type: ignore[call-overload]


def api_max_page_size() -> int:
    """``AGENTCORE_TASK_API_MAX_PAGE_SIZE`` (default 100): the largest ``page_size`` accepted."""
    return int(_get("AGENTCORE_TASK_API_MAX_PAGE_SIZE", 100))  # type: ignore[call-overload]


def api_permission_classes() -> list[str]:
    """``AGENTCORE_TASK_API_PERMISSION_CLASSES``: dotted DRF permission classes for the API.

    Default ``["rest_framework.permissions.IsAuthenticated"]``. Row scoping (own rows unless
    staff or ``agentcore_task.view_all_taskexecution``) applies on top of whatever is set.
    """
    value = _get(
        "AGENTCORE_TASK_API_PERMISSION_CLASSES", ["rest_framework.permissions.IsAuthenticated"]
    )
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError("AGENTCORE_TASK_API_PERMISSION_CLASSES must be a list of dotted paths")
    return [str(path) for path in value]


# --- Periodic jobs: cleanup and timeout marking ---------------------------------------------


def _positive_int(name: str, default: int) -> int:
    return checked_int(name, _get(name, default), not_int=ValueError)


def _crontab_text(name: str, default: str) -> str:
    value = _get(name, default)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a 5-field crontab string, not {value!r}")
    return value


def cleanup_enabled() -> bool:
    """``AGENTCORE_TASK_CLEANUP_ENABLED`` (default True): schedule and run the cleanup job."""
    return bool(_get("AGENTCORE_TASK_CLEANUP_ENABLED", True))


def cleanup_crontab() -> str:
    """``AGENTCORE_TASK_CLEANUP_CRONTAB`` (default ``"0 2 * * *"``): when Beat runs cleanup.

    Five fields (minute hour day-of-month month day-of-week), in Celery's timezone.
    """
    return _crontab_text("AGENTCORE_TASK_CLEANUP_CRONTAB", "0 2 * * *")


def cleanup_beat_interval_hours() -> int:
    """``AGENTCORE_TASK_CLEANUP_BEAT_INTERVAL_HOURS`` (default 24): the fallback interval.

    Used when ``AGENTCORE_TASK_CLEANUP_CRONTAB`` does not parse.
    """
    return _positive_int("AGENTCORE_TASK_CLEANUP_BEAT_INTERVAL_HOURS", 24)


def retention_days() -> int:
    """``AGENTCORE_TASK_RETENTION_DAYS`` (default 30): age beyond which cleanup deletes rows."""
    return _positive_int("AGENTCORE_TASK_RETENTION_DAYS", 30)


def cleanup_only_completed() -> bool:
    """``AGENTCORE_TASK_CLEANUP_ONLY_COMPLETED`` (default True): delete terminal rows only."""
    return bool(_get("AGENTCORE_TASK_CLEANUP_ONLY_COMPLETED", True))


def cleanup_batch_size() -> int:
    """``AGENTCORE_TASK_CLEANUP_BATCH_SIZE`` (default 5,000): rows deleted per transaction."""
    return _positive_int("AGENTCORE_TASK_CLEANUP_BATCH_SIZE", 5000)


def mark_timeout_enabled() -> bool:
    """``AGENTCORE_TASK_MARK_TIMEOUT_ENABLED`` (default True): schedule and run timeout marking."""
    return bool(_get("AGENTCORE_TASK_MARK_TIMEOUT_ENABLED", True))


def mark_timeout_crontab() -> str:
    """``AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB`` (default ``"*/30 * * * *"``): when it runs."""
    return _crontab_text("AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB", "*/30 * * * *")


def timeout_minutes() -> int:
    """``AGENTCORE_TASK_TIMEOUT_MINUTES`` (default 10): minutes without a sign of life.

    A STARTED or RETRY execution whose row has not been written (``updated_at``: status,
    progress, any metadata) for this long is marked FAILURE by timeout marking.
    """
    return _positive_int("AGENTCORE_TASK_TIMEOUT_MINUTES", 10)


def timeout_overrides() -> dict[str, int]:
    """``AGENTCORE_TASK_TIMEOUT_OVERRIDES`` (default ``{}``): per-task timeouts in minutes.

    Maps task-name patterns (``fnmatch``, e.g. ``"reports.*"``) to minutes without a sign of
    life after which a STARTED/RETRY execution of a matching task is marked timed out. The
    first matching pattern wins; a task's own ``agentcore_timeout_minutes`` option wins over
    every pattern.
    """
    value = _get("AGENTCORE_TASK_TIMEOUT_OVERRIDES", {})
    if not isinstance(value, dict):
        raise TypeError(
            "AGENTCORE_TASK_TIMEOUT_OVERRIDES must be a dict of task-name pattern -> minutes, "
            f"not {value!r}"
        )
    for pattern, minutes in value.items():
        if not isinstance(pattern, str) or not pattern:
            raise TypeError(
                f"AGENTCORE_TASK_TIMEOUT_OVERRIDES keys must be non-empty strings, not {pattern!r}"
            )
        checked_int(
            f"AGENTCORE_TASK_TIMEOUT_OVERRIDES[{pattern!r}] (minutes)", minutes, not_int=ValueError
        )
    return dict(value)


def pending_timeout_minutes() -> int:
    """``AGENTCORE_TASK_PENDING_TIMEOUT_MINUTES`` (default 1,440): when PENDING means lost.

    Timeout marking asks Celery about PENDING executions registered longer ago than this;
    those Celery knows nothing of (the message was lost, the task never started) become
    FAILURE with an error saying so.
    """
    return _positive_int("AGENTCORE_TASK_PENDING_TIMEOUT_MINUTES", 1440)


def timeout_sync_max() -> int:
    """``AGENTCORE_TASK_TIMEOUT_SYNC_MAX`` (default 1,000): executions synced before marking.

    Timeout marking first asks Celery's result backend about at most this many of the
    executions it is about to mark (stalest first), one backend read each; the same cap
    applies to the stale PENDING executions it checks.
    """
    return _positive_int("AGENTCORE_TASK_TIMEOUT_SYNC_MAX", 1000)


# --- Runtime configuration and automatic tracking ------------------------------------------


def config_cache_seconds() -> int:
    """``AGENTCORE_TASK_CONFIG_CACHE_SECONDS`` (default 30): how long a process caches the
    runtime configuration stored in the database (``api/v1/tasks/config/``)."""
    value = _get("AGENTCORE_TASK_CONFIG_CACHE_SECONDS", 30)
    return checked_int("AGENTCORE_TASK_CONFIG_CACHE_SECONDS", value, minimum=0, not_int=ValueError)


def auto_track() -> bool | tuple[str, ...]:
    """``AGENTCORE_TASK_AUTO_TRACK`` (default False): record Celery tasks through signals.

    False: off. True: every task. A list of task-name patterns (``fnmatch``, e.g.
    ``"billing.*"``): only the tasks whose name matches one of them.
    """
    value = _get("AGENTCORE_TASK_AUTO_TRACK", False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(
            "AGENTCORE_TASK_AUTO_TRACK must be True, False or a list of task-name patterns, "
            f"not {value!r}"
        )
    patterns = tuple(value)
    if not all(isinstance(pattern, str) and pattern for pattern in patterns):
        raise TypeError("AGENTCORE_TASK_AUTO_TRACK patterns must be non-empty strings")
    return patterns


# --- Operating executions -------------------------------------------------------------------


def bulk_limit() -> int:
    """``AGENTCORE_TASK_BULK_LIMIT`` (default 1000): the most rows one bulk action acts on."""
    return _positive_int("AGENTCORE_TASK_BULK_LIMIT", 1000)


def revoke_check() -> bool:
    """``AGENTCORE_TASK_REVOKE_CHECK`` (default True): a worker asks the row, for each message
    it receives, whether the execution was revoked, and discards it if so."""
    return bool(_get("AGENTCORE_TASK_REVOKE_CHECK", True))


# --- Live progress: the doorbell, the hub and its streams ----------------------------------


def _seconds(name: str, default: float, *, positive: bool) -> float:
    value = _get(name, default)
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or not (value > 0 if positive else value >= 0):  # type: ignore[operator]
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a number of seconds {bound}, not {value!r}")
    return float(value)  # type: ignore[arg-type]


def notify() -> bool:
    """``AGENTCORE_TASK_NOTIFY`` (default True): the database's doorbell on inserts and
    status changes. False disables its triggers at the next ``migrate``; live streams then
    learn of every change from their poll alone."""
    return bool(_get("AGENTCORE_TASK_NOTIFY", True))


def live_database_alias() -> str:
    """``AGENTCORE_TASK_LIVE_DATABASE`` (default ``"default"``): the hub's own connection.

    Each server process holds one connection of this alias for LISTEN and its polls. Point it
    at a direct connection when ``default`` goes through a transaction-pooling PgBouncer:
    LISTEN needs the same server session for as long as it listens.
    """
    return str(_get("AGENTCORE_TASK_LIVE_DATABASE", "default"))


def live_poll_seconds() -> float:
    """``AGENTCORE_TASK_LIVE_POLL_SECONDS`` (default 0.5): how often the hub reads changed rows.

    Progress merges ring no doorbell (it would halve their throughput), so this bounds how
    late a progress change reaches a stream; the read is one indexed query per process.
    """
    return _seconds("AGENTCORE_TASK_LIVE_POLL_SECONDS", 0.5, positive=True)


def live_heartbeat_seconds() -> float:
    """``AGENTCORE_TASK_LIVE_HEARTBEAT_SECONDS`` (default 15): a comment line on an idle
    stream this often, so proxies and load balancers keep the connection open."""
    return _seconds("AGENTCORE_TASK_LIVE_HEARTBEAT_SECONDS", 15, positive=True)


def live_queue_size() -> int:
    """``AGENTCORE_TASK_LIVE_QUEUE_SIZE`` (default 256): events buffered per stream client.

    A client that falls this far behind is sent a ``reset`` event and disconnected; its
    browser reconnects with ``Last-Event-ID`` and catches up from the rows.
    """
    return _positive_int("AGENTCORE_TASK_LIVE_QUEUE_SIZE", 256)


def progress_min_interval() -> float:
    """``AGENTCORE_TASK_PROGRESS_MIN_INTERVAL`` (default 0: every call writes): the fewest
    seconds between two progress writes of one execution from one process. Calls in between
    are merged and kept; the newest values are written at the next call after the interval,
    before any status change, and when the task ends."""
    return _seconds("AGENTCORE_TASK_PROGRESS_MIN_INTERVAL", 0, positive=False)
