"""Carry what the original agentcore-task kept outside its table into ours (``RunPython``).

- Its global key/value settings (``agentcore_task_config``) become overrides in our runtime
  configuration; the table itself is left in place (docs/upgrading.md says how to drop it).
- Its content type (label ``agentcore_task_tracker``) and permissions move to our label, so
  groups and users keep the access they were given.

Both do nothing on a database that never ran the original.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from agentcore_task.schema.original import (
    ORIGINAL_APP_LABEL,
    ORIGINAL_CONFIG_TABLE,
    OriginalSchemaError,
    table_exists,
)
from agentcore_task.sql import query

__all__ = ["carry_original_config", "move_original_permissions"]

APP_LABEL = "agentcore_task"
# The original's global keys and the runtime configuration column each one becomes.
CONFIG_KEYS = {
    "retention_days": int,
    "timeout_minutes": int,
    "cleanup_crontab": str,
    "mark_timeout_crontab": str,
}


def _original_values(cursor: Any) -> tuple[dict[str, Any], Any]:
    """Return the original's global settings we know, and when the last one changed."""
    cursor.execute(query("adoption_original_global_config"), {"keys": list(CONFIG_KEYS)})
    values: dict[str, Any] = {}
    latest = None
    for key, text, updated_at in cursor.fetchall():
        value = json.loads(text)
        expected = CONFIG_KEYS[key]
        if expected is int and isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, expected) or isinstance(value, bool):
            raise OriginalSchemaError(
                f"{ORIGINAL_CONFIG_TABLE} global {key} = {text} is not a"
                f" {expected.__name__}; correct or delete that row, then run migrate again"
            )
        values[key] = " ".join(value.split()) if isinstance(value, str) else value
        latest = updated_at if latest is None else max(latest, updated_at)
    return values, latest


def carry_original_config(apps: Any, schema_editor: Any) -> None:
    """Copy the original's global settings into the runtime configuration's overrides.

    An override already set in ours is kept. A value our CHECK constraints refuse (e.g.
    ``retention_days`` 0) stops the migration naming the row, rather than being dropped.
    """
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if not table_exists(cursor, ORIGINAL_CONFIG_TABLE):
            return
        values, latest = _original_values(cursor)
    if not values:
        return
    config_model = apps.get_model(APP_LABEL, "TaskRuntimeConfig")
    manager = config_model.objects.using(connection.alias)
    config = manager.filter(pk=1).first() or config_model(pk=1)
    carried = {key: value for key, value in values.items() if getattr(config, key) is None}
    if not carried:
        return
    for key, value in carried.items():
        setattr(config, key, value)
    if latest is not None:
        config.updated_at = latest
    try:
        with transaction.atomic(using=connection.alias):
            config.save(using=connection.alias)
    except IntegrityError as error:
        raise OriginalSchemaError(
            f"the original's global settings {carried} from {ORIGINAL_CONFIG_TABLE} are outside "
            f"what agentcore_task accepts ({error}); see docs/settings.md for the limits, "
            "correct or delete those rows, then run migrate again"
        ) from error


def _user_permission_links(apps: Any) -> Any:
    """Return the user ↔ permission table's model, when the user model has one."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    field = next((f for f in user_model._meta.many_to_many if f.name == "user_permissions"), None)
    return field.remote_field.through if field is not None else None


def _merge_permission(apps: Any, alias: str, old: Any, new: Any) -> None:
    """Point every group and user that had ``old`` at ``new``, then delete ``old``."""
    group_links = apps.get_model("auth", "Group").permissions.through
    for links, owner in ((group_links, "group_id"), (_user_permission_links(apps), "user_id")):
        if links is None:
            continue
        rows = links.objects.using(alias)
        having_new = rows.filter(permission_id=new.pk).values_list(owner, flat=True)
        rows.filter(permission_id=old.pk).exclude(**{f"{owner}__in": having_new}).update(
            permission_id=new.pk
        )
        rows.filter(permission_id=old.pk).delete()
    old.delete()


def move_original_permissions(apps: Any, schema_editor: Any) -> None:
    """Move the original's content types and permissions to our app label.

    When ours already exist (``migrate`` of another app creates them for every installed app),
    the two are merged: group and user grants move to our permission, the admin log to our
    content type, and the original's duplicates are deleted. The original's ``taskconfig``
    content type has no model here; it is left for ``remove_stale_contenttypes``.
    """
    alias = schema_editor.connection.alias
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(alias)
    permissions = apps.get_model("auth", "Permission").objects.using(alias)
    old = content_types.filter(app_label=ORIGINAL_APP_LABEL, model="taskexecution").first()
    if old is None:
        return
    new = content_types.filter(app_label=APP_LABEL, model="taskexecution").first()
    if new is None:
        old.app_label = APP_LABEL
        old.save(update_fields=["app_label"])
        return
    for permission in permissions.filter(content_type_id=old.pk):
        ours = permissions.filter(content_type_id=new.pk, codename=permission.codename).first()
        if ours is None:
            permission.content_type_id = new.pk
            permission.save(update_fields=["content_type"])
        else:
            _merge_permission(apps, alias, permission, ours)
    with schema_editor.connection.cursor() as cursor:
        if table_exists(cursor, "django_admin_log"):
            cursor.execute(query("adoption_move_admin_log"), {"new": new.pk, "old": old.pk})
    old.delete()
