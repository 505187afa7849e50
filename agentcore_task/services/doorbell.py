"""``AGENTCORE_TASK_NOTIFY`` in the database: the doorbell triggers enabled or disabled.

The doorbell is a property of the table, not of one process: every writer (a web process,
a worker, a DBA in psql) fires the same triggers. So the setting is applied where the table
is managed: ``migrate`` (its ``post_migrate`` signal) enables the triggers when the setting
is True (the default) and disables them (``ALTER TABLE … DISABLE TRIGGER``) when it is
False. A disabled trigger costs a writer nothing at all. Change the setting, then run
``migrate`` (nothing to migrate is fine: the signal still fires).

With the doorbell off, listeners still see every change through their poll of changed rows,
only up to one poll interval later.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from agentcore_task import conf
from agentcore_task.doorbell import DOORBELL_TRIGGERS
from agentcore_task.sql import query


def _names() -> dict[str, str]:
    from agentcore_task.models import TaskExecution

    model: Any = TaskExecution  # pgtrigger's stubs want an instance; it takes the class
    return {str(trigger.name): trigger.get_pgid(model) for trigger in DOORBELL_TRIGGERS}


def doorbell_state(using: str = "default") -> dict[str, bool]:
    """Return ``{trigger name: enabled}`` for the doorbell triggers installed in ``using``."""
    names = _names()
    by_pgid = {pgid: name for name, pgid in names.items()}
    with connections[using].cursor() as cursor:
        cursor.execute(query("doorbell_triggers"), {"names": list(names.values())})
        return {by_pgid[pgid]: bool(enabled) for pgid, enabled in cursor.fetchall()}


def set_doorbell(enabled: bool, using: str = "default") -> None:
    """Enable or disable the doorbell triggers in ``using`` (those not installed are skipped)."""
    connection = connections[using]
    names = _names()
    statement = query("enable_trigger" if enabled else "disable_trigger")
    installed = doorbell_state(using)
    with connection.cursor() as cursor:
        for name in installed:
            cursor.execute(statement.replace("{trigger}", connection.ops.quote_name(names[name])))


def apply_notify_setting(using: str = "default", **_: object) -> None:
    """Make the database follow ``AGENTCORE_TASK_NOTIFY`` (connected to ``post_migrate``)."""
    if connections[using].vendor != "postgresql":
        return
    set_doorbell(conf.notify(), using)
