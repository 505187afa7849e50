"""The execution record: one row per Celery task execution.

Indexes are deliberately few. The GIN index on ``metadata`` means no progress update can be a
HOT update, so every btree index below is rewritten on every progress update; each one is here
because a named query needs it.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import options
from django.db.models.functions import Now

from agentcore_task.doorbell import DOORBELL_TRIGGERS
from agentcore_task.querysets import UNFINISHED_STATUSES, TaskExecutionQuerySet
from agentcore_task.status import TaskStatus
from agentcore_task.triggers import status_rules

# ``Meta.triggers`` is only a valid option once pgtrigger's app module has been imported (it
# adds the option). Without pgtrigger in INSTALLED_APPS we leave it out so Django can still
# load the model and our system check can explain the fix instead of a bare TypeError.
_TRIGGERS_SUPPORTED = "triggers" in options.DEFAULT_NAMES

__all__ = ["UNFINISHED_STATUSES", "TaskExecution", "TaskRuntimeConfig"]


def _jsonb_gin(field: str, name: str) -> GinIndex:
    """Index ``field`` for ``@>`` containment; ``jsonb_path_ops`` is smaller and faster for it."""
    return GinIndex(fields=[field], opclasses=["jsonb_path_ops"], name=name)


class TaskExecution(models.Model):
    """One execution of one Celery task, as a side record: it never drives the task."""

    # Unique through Meta.constraints rather than unique=True, which would add a second,
    # varchar_pattern_ops index for LIKE 'prefix%' that no query here uses.
    task_id = models.CharField(max_length=255, help_text="Celery task id (the id of task.delay()).")
    task_name = models.CharField(max_length=255, help_text="Dotted Celery task name.")
    module = models.CharField(max_length=100, help_text="Business area the task belongs to.")
    status = models.CharField(
        max_length=20,
        choices=TaskStatus.choices,
        default=TaskStatus.PENDING,
        db_default=TaskStatus.PENDING.value,
    )
    created_at = models.DateTimeField(db_default=Now())
    started_at = models.DateTimeField(null=True, blank=True, help_text="Stamped by the database.")
    finished_at = models.DateTimeField(null=True, blank=True, help_text="Stamped by the database.")
    updated_at = models.DateTimeField(
        db_default=Now(), help_text="Last write of any kind: the row's heartbeat."
    )
    task_args = models.JSONField(default=list, db_default=models.Value([], models.JSONField()))
    task_kwargs = models.JSONField(default=dict, db_default=models.Value({}, models.JSONField()))
    result = models.JSONField(null=True, blank=True)
    # NULL, not "", means "no error": the distinction DBAs and the API filters rely on.
    error = models.TextField(null=True, blank=True)  # noqa: DJ001
    traceback = models.TextField(null=True, blank=True)  # noqa: DJ001
    timed_out = models.BooleanField(
        default=False,
        db_default=False,
        help_text=(
            "True while the FAILURE was written by the timeout job (no heartbeat for the "
            "timeout, or never started): the real outcome may still replace it."
        ),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="agentcore_task_executions",
        db_index=False,  # agentcore_task_by_user leads with created_by_id and serves its lookups
        help_text="Who started it; empty for system and periodic runs.",
    )
    metadata = models.JSONField(
        default=dict,
        db_default=models.Value({}, models.JSONField()),
        help_text="Free-form context; progress lives in progress_percent/_message/_step.",
    )

    objects = TaskExecutionQuerySet.as_manager()

    class Meta:
        db_table = "agentcore_task_execution"
        verbose_name = "task execution"
        verbose_name_plural = "task executions"
        permissions = [
            ("view_all_taskexecution", "Can view every user's and system task executions"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["task_id"], name="agentcore_task_task_id_key"),
            models.CheckConstraint(
                condition=models.Q(status__in=TaskStatus.values),
                name="agentcore_task_status_valid",
            ),
        ]
        indexes = [
            # "My tasks", the default list: WHERE created_by_id = ? ORDER BY created_at DESC.
            models.Index(fields=["created_by", "-created_at"], name="agentcore_task_by_user"),
            # List and stats filtered by module, newest first.
            models.Index(fields=["module", "-created_at"], name="agentcore_task_by_module"),
            # List and stats filtered by task name, newest first.
            models.Index(fields=["task_name", "-created_at"], name="agentcore_task_by_name"),
            # Unfiltered staff list, start_date/end_date ranges, cleanup by age.
            models.Index(fields=["created_at"], name="agentcore_task_created"),
            # The live hub's poll of changed rows: WHERE updated_at > last seen.
            models.Index(fields=["updated_at"], name="agentcore_task_updated"),
            # Periodic jobs: unfinished rows to sync, STARTED rows past the timeout. Partial, so
            # it stays as small as the set of running tasks however large the table grows.
            models.Index(
                fields=["status", "started_at"],
                name="agentcore_task_unfinished",
                condition=models.Q(status__in=UNFINISHED_STATUSES),
            ),
            _jsonb_gin("metadata", "agentcore_task_meta_gin"),
            _jsonb_gin("task_kwargs", "agentcore_task_kwargs_gin"),
            _jsonb_gin("task_args", "agentcore_task_args_gin"),
            _jsonb_gin("result", "agentcore_task_result_gin"),
        ]
        if _TRIGGERS_SUPPORTED:
            triggers = [status_rules, *DOORBELL_TRIGGERS]

    def __str__(self) -> str:
        return f"{self.task_name} [{self.task_id}] {self.status}"

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (or to now while running); None before it starts."""
        if self.started_at is None:
            return None
        end = self.finished_at or dt.datetime.now(tz=dt.UTC)
        return (end - self.started_at).total_seconds()

    @property
    def is_completed(self) -> bool:
        """True once the status is terminal (SUCCESS, FAILURE, REVOKED)."""
        return self.status in TaskStatus.get_completed_statuses()

    @property
    def is_running(self) -> bool:
        """True while a worker holds it (STARTED or RETRY)."""
        return self.status in TaskStatus.get_running_statuses()

    @property
    def progress_percent(self) -> int | None:
        """The ``progress_percent`` metadata key, when it is a number."""
        value = (self.metadata or {}).get("progress_percent")
        return value if isinstance(value, int) and not isinstance(value, bool) else None


# Bounds of the runtime overrides, enforced by the database (CHECK) and by the validation in
# agentcore_task/runtime_config/fields.py, which names them in its error messages.
RETENTION_DAYS_LIMITS = (1, 3650)
TIMEOUT_MINUTES_LIMITS = (1, 1440)
# Five fields separated by single spaces: how runtime_config stores a validated crontab.
CRONTAB_SHAPE = r"^\S+( \S+){4}$"


def _null_or(field: str, condition: models.Q) -> models.Q:
    return models.Q(**{f"{field}__isnull": True}) | condition


class TaskRuntimeConfig(models.Model):
    """Overrides of the periodic jobs' settings, changed at runtime: at most one row.

    A NULL column means "no override": the ``AGENTCORE_TASK_*`` setting, or its default,
    applies. Typed columns rather than key/value rows let the database check each value
    (ranges, crontab shape) and let a DBA read the whole configuration as one row. Read and
    write it through ``agentcore_task.runtime_config``, which validates and caches.
    """

    # Always 1 (CHECK): the table can never hold two competing configurations.
    id = models.SmallIntegerField(primary_key=True, default=1, editable=False)
    retention_days = models.IntegerField(
        null=True, blank=True, help_text="Overrides AGENTCORE_TASK_RETENTION_DAYS."
    )
    timeout_minutes = models.IntegerField(
        null=True, blank=True, help_text="Overrides AGENTCORE_TASK_TIMEOUT_MINUTES."
    )
    cleanup_crontab = models.CharField(  # noqa: DJ001  (NULL = no override, "" is not a crontab)
        max_length=100, null=True, blank=True, help_text="Overrides AGENTCORE_TASK_CLEANUP_CRONTAB."
    )
    mark_timeout_crontab = models.CharField(  # noqa: DJ001
        max_length=100,
        null=True,
        blank=True,
        help_text="Overrides AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB.",
    )
    updated_at = models.DateTimeField(db_default=Now(), help_text="Time of the last change.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who made the last change; empty for changes made from code.",
    )

    class Meta:
        db_table = "agentcore_task_runtime_config"
        verbose_name = "task runtime configuration"
        verbose_name_plural = "task runtime configuration"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=1), name="agentcore_task_config_singleton"
            ),
            models.CheckConstraint(
                condition=_null_or(
                    "retention_days", models.Q(retention_days__range=RETENTION_DAYS_LIMITS)
                ),
                name="agentcore_task_config_retention",
            ),
            models.CheckConstraint(
                condition=_null_or(
                    "timeout_minutes", models.Q(timeout_minutes__range=TIMEOUT_MINUTES_LIMITS)
                ),
                name="agentcore_task_config_timeout",
            ),
            models.CheckConstraint(
                condition=_null_or(
                    "cleanup_crontab", models.Q(cleanup_crontab__regex=CRONTAB_SHAPE)
                ),
                name="agentcore_task_config_cleanup_cron",
            ),
            models.CheckConstraint(
                condition=_null_or(
                    "mark_timeout_crontab", models.Q(mark_timeout_crontab__regex=CRONTAB_SHAPE)
                ),
                name="agentcore_task_config_timeout_cron",
            ),
        ]

    def __str__(self) -> str:
        return "agentcore_task runtime configuration"
