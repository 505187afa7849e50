"""The audit trail: one ``agentcore_task_action`` row per operator action.

Every verb that changes something on an operator's say-so (revoke, retry, bulk, a forced
lock release, a runtime-configuration change, the admin's actions) calls
:func:`record_action` once, after acting, with what it acted on and how many rows each
outcome had. The row is written by the ORM (it is not an execution row: no status rules, no
concurrent writers), outside any rule that could refuse it.
"""

from __future__ import annotations

import logging
from typing import Any

from agentcore_task.jsonsafe import clean_text, to_json_safe
from agentcore_task.models import TaskAction

__all__ = ["SOURCES", "actor_name", "record_action"]

logger = logging.getLogger("agentcore_task")

SOURCES = ("api", "admin", "command", "dashboard", "system", "code")
"""Where an action may come from (``TaskAction.source``)."""


def actor_name(actor: Any, source: str) -> str:
    """Return the name the trail keeps for ``actor``: the username, else the source."""
    if actor is None or getattr(actor, "is_anonymous", False):
        return source
    get_username = getattr(actor, "get_username", None)
    return str(get_username() if callable(get_username) else actor)[:150]


def record_action(
    action: str,
    *,
    actor: Any = None,
    source: str = "code",
    target: dict[str, Any] | None = None,
    counts: dict[str, int] | None = None,
    reason: str | None = None,
) -> TaskAction:
    """Write one audit row and return it.

    Args:
        action: what was done: ``revoke``, ``retry``, ``bulk_revoke``, ``bulk_retry``,
            ``lock_release``, ``config_change``…
        actor: the user who acted (None for the command line and the periodic jobs).
        source: one of :data:`SOURCES`.
        target: what it acted on, e.g. ``{"executions": [1, 2]}``, ``{"filter": {...}}``,
            ``{"lock": "name"}``.
        counts: rows per outcome, e.g. ``{"revoked": 2, "already_finished": 1}``.
        reason: the operator's reason, as given.

    Raises:
        ValueError: an unknown source or an empty action.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    if not isinstance(action, str) or not action:
        raise ValueError("action must be a non-empty str")
    user = actor if getattr(actor, "pk", None) is not None else None
    row = TaskAction.objects.create(
        actor=user,
        actor_name=clean_text(actor_name(actor, source)),
        action=action[:40],
        source=source,
        target=to_json_safe(target or {}),  # a lock name may hold what jsonb refuses (NUL)
        counts=counts or {},
        reason=clean_text(reason or ""),
    )
    logger.info(
        "agentcore_task %s by %s (%s): %s %s", action, row.actor_name, source, target, counts
    )
    return row
