"""System checks that turn a broken install into a message with the fix."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import connections


@register(Tags.compatibility)
def check_pgtrigger_installed(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Require pgtrigger: without it the status rules are never installed in the database."""
    if apps.is_installed("pgtrigger"):
        return []
    return [
        Error(
            "agentcore_task needs django-pgtrigger in INSTALLED_APPS: the database enforces "
            "the execution status rules with its triggers.",
            hint="Add 'pgtrigger' to INSTALLED_APPS (it is installed with agentcore-task).",
            id="agentcore_task.E001",
        )
    ]


# Not tagged "database": Django 6.1 skips such checks unless a database is named, and this
# one only reads the configured backend's vendor, without connecting.
@register(Tags.compatibility)
def check_postgresql(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Refuse a non-PostgreSQL default database: jsonb, GIN and triggers are PostgreSQL's."""
    alias = "default"
    if alias not in settings.DATABASES:
        return []
    vendor = connections[alias].vendor
    if vendor == "postgresql":
        return []
    return [
        Error(
            f"agentcore_task needs PostgreSQL; the '{alias}' database is {vendor}.",
            hint="Set DATABASES['default']['ENGINE'] to 'django.db.backends.postgresql'.",
            id="agentcore_task.E002",
        )
    ]
