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

__all__ = [
    "UNFINISHED_STATUSES",
    "TaskAction",
    "TaskExecution",
    "TaskLockName",
    "TaskRuntimeConfig",
]


def _jsonb_gin(field: str, name: str) -> GinIndex:
    """Index ``field`` for ``@>`` containment; ``jsonb_path_ops`` is smaller and faster for it."""
    return GinIndex(fields=[field], opclasses=["jsonb_path_ops"], name=name)


class TaskExecution(models.Model):
    """One execution of one Celery task, as a side record: it never drives the task."""

    id = models.BigAutoField(
        primary_key=True, verbose_name="ID", help_text="Primary key (identity), never reused."
    )
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
        help_text=(
            "PENDING, STARTED, SUCCESS, FAILURE, RETRY or REVOKED; a finished row never goes "
            "back to an unfinished status (trigger)."
        ),
    )
    created_at = models.DateTimeField(db_default=Now(), help_text="When the row was registered.")
    started_at = models.DateTimeField(null=True, blank=True, help_text="Stamped by the database.")
    finished_at = models.DateTimeField(null=True, blank=True, help_text="Stamped by the database.")
    updated_at = models.DateTimeField(
        db_default=Now(), help_text="Last write of any kind: the row's heartbeat."
    )
    task_args = models.JSONField(
        default=list,
        db_default=models.Value([], models.JSONField()),
        help_text="Positional arguments (a JSON array), secrets redacted.",
    )
    task_kwargs = models.JSONField(
        default=dict,
        db_default=models.Value({}, models.JSONField()),
        help_text="Keyword arguments (a JSON object), secrets redacted.",
    )
    result = models.JSONField(
        null=True, blank=True, help_text="Result of a successful run; NULL otherwise."
    )
    # NULL, not "", means "no error": the distinction DBAs and the API filters rely on.
    error = models.TextField(  # noqa: DJ001
        null=True, blank=True, help_text="Error message of a failed run; NULL when none."
    )
    traceback = models.TextField(  # noqa: DJ001
        null=True, blank=True, help_text="Traceback of a failed run; NULL when none."
    )
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

    worker = models.CharField(  # noqa: DJ001  (NULL: no worker has started it)
        max_length=255,
        null=True,
        blank=True,
        help_text="Hostname (node name) of the Celery worker that last started it.",
    )
    queue = models.CharField(  # noqa: DJ001  (NULL: not known, e.g. registered by hand)
        max_length=255,
        null=True,
        blank=True,
        help_text="Queue (routing key) the message was sent to.",
    )
    retry_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retries",
        db_index=False,  # agentcore_task_retry_of, partial: only rows that are retries
        help_text="The execution this one retries (an operator's retry makes a new row).",
    )
    status_history = models.JSONField(
        default=list,
        db_default=models.Value([], models.JSONField()),
        help_text="Status transitions written by the status trigger, newest last, at most 20: "
        '{"status", "at", "worker"}.',
    )

    objects = TaskExecutionQuerySet.as_manager()

    class Meta:
        db_table = "agentcore_task_execution"
        db_table_comment = (
            "agentcore-task: one row per Celery task execution, a side record (who, when, "
            "status, arguments, result, error, progress in metadata). Rules are enforced by "
            "the trigger pgtrigger_agentcore_task_status_rules_*."
        )
        verbose_name = "task execution"
        verbose_name_plural = "task executions"
        permissions = [
            ("view_all_taskexecution", "Can view every user's and system task executions"),
            ("operate_taskexecution", "Can revoke and retry task executions and free locks"),
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
            # One user's unfinished rows, newest first: the dashboard overview's running tasks
            # and oldest PENDING row, a status filter of an ordinary user. Without it those walk
            # every row the user ever made. Partial, so it is as small as the running set.
            models.Index(
                fields=["created_by", "-created_at"],
                name="agentcore_task_user_unfinished",
                condition=models.Q(status__in=UNFINISHED_STATUSES),
            ),
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
            # The retries of a row (detail, retry chains). Partial: rows that are not retries,
            # nearly all of them, add no entry, so progress updates do not maintain it.
            models.Index(
                fields=["retry_of"],
                name="agentcore_task_retry_of",
                condition=models.Q(retry_of__isnull=False),
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
    def queue_wait(self) -> float | None:
        """Seconds from registration to start (or to now while still PENDING); None once
        finished without ever starting (revoked or failed before a worker took it)."""
        if self.started_at is not None:
            return (self.started_at - self.created_at).total_seconds()
        if self.finished_at is not None or self.created_at is None:
            return None
        return (dt.datetime.now(tz=dt.UTC) - self.created_at).total_seconds()

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
    id = models.SmallIntegerField(
        primary_key=True, default=1, editable=False, help_text="Always 1: a single row."
    )
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
        db_table_comment = (
            "agentcore-task: overrides of the periodic jobs' settings, at most one row; "
            "NULL means the AGENTCORE_TASK_* setting applies."
        )
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


class TaskAction(models.Model):
    """One operator action (revoke, retry, bulk, lock release, configuration change): the
    audit trail. Written by ``agentcore_task.services.audit.record_action``, never changed."""

    id = models.BigAutoField(
        primary_key=True, verbose_name="ID", help_text="Primary key (identity), never reused."
    )
    created_at = models.DateTimeField(db_default=Now(), help_text="When the action was taken.")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who acted; empty for the command line and the periodic jobs.",
    )
    actor_name = models.CharField(
        max_length=150,
        blank=True,
        default="",
        db_default="",
        help_text="The actor's username at the time (kept when the user is deleted), or the "
        "source for actions without a user (command, system).",
    )
    action = models.CharField(
        max_length=40, help_text="revoke, retry, bulk_revoke, bulk_retry, lock_release, config…"
    )
    source = models.CharField(max_length=20, help_text="Where it came from: api, admin, command…")
    target = models.JSONField(
        default=dict,
        db_default=models.Value({}, models.JSONField()),
        help_text='What it acted on: {"executions": [ids]}, {"filter": {…}}, {"lock": name}…',
    )
    counts = models.JSONField(
        default=dict,
        db_default=models.Value({}, models.JSONField()),
        help_text='How many rows each outcome had, e.g. {"revoked": 3, "already_finished": 1}.',
    )
    reason = models.TextField(blank=True, default="", db_default="", help_text="Why, as given.")

    class Meta:
        db_table = "agentcore_task_action"
        db_table_comment = (
            "agentcore-task: the audit trail, one row per operator action (revoke, retry, bulk, "
            "lock release, configuration change, admin action); never updated."
        )
        verbose_name = "operator action"
        verbose_name_plural = "operator actions"
        indexes = [models.Index(fields=["-created_at"], name="agentcore_task_action_time")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_name or '?'} at {self.created_at}"


class TaskLockName(models.Model):
    """The name behind each advisory lock held now (``pg_locks`` shows only its hashed key).

    Written and deleted by the advisory lock backend in SQL (``sql/locks.sql``); a row whose
    key no session holds any more (its holder died) is ignored by the listing and removed.
    UNLOGGED (migration 0004): it lives no longer than the locks it names.
    """

    name = models.TextField(primary_key=True, help_text="The lock name, as given.")
    key = models.BigIntegerField(help_text="The advisory lock key (advisory_lock_key(name)).")
    owner = models.TextField(help_text="Owner token: host, pid and thread of the holder.")
    holder = models.CharField(  # noqa: DJ001  (NULL: not taken by a Celery task)
        max_length=255,
        null=True,
        blank=True,
        help_text="Celery task id of the task that took it, when a task did.",
    )
    since = models.DateTimeField(db_default=Now(), help_text="When it was taken.")

    class Meta:
        db_table = "agentcore_task_lock_name"
        db_table_comment = (
            "agentcore-task: the name behind each advisory lock held now (pg_locks shows only "
            "the key); UNLOGGED, rows whose key nobody holds are ignored and removed."
        )
        verbose_name = "advisory lock name"
        verbose_name_plural = "advisory lock names"

    def __str__(self) -> str:
        return self.name
