"""The Django app. Its label, ``agentcore_task``, fixes the table and migration names."""

from __future__ import annotations

from django.apps import AppConfig


class AgentcoreTaskConfig(AppConfig):
    name = "agentcore_task"
    label = "agentcore_task"
    verbose_name = "Agentcore task executions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here, not at the top: these modules import the models, which app loading allows
        # only once every app's models are registered.
        from celery.signals import beat_init
        from django.core.signals import request_finished, request_started
        from django.db.models.signals import post_migrate

        from agentcore_task import checks  # noqa: F401  (registers the system checks)
        from agentcore_task.autotrack import connect_signals
        from agentcore_task.beat import merge_beat_schedule
        from agentcore_task.beat_scheduler import on_beat_init, on_runtime_config_changed
        from agentcore_task.locks import checks as _lock_checks  # noqa: F401  (the same, locks)
        from agentcore_task.revoke_guard import connect_revoke_guard
        from agentcore_task.services.doorbell import apply_notify_setting
        from agentcore_task.signals import runtime_config_changed
        from agentcore_task.transactions import close_own_connections

        # AGENTCORE_TASK_NOTIFY is applied to the table's doorbell triggers at every migrate.
        post_migrate.connect(
            apply_notify_setting, sender=self, dispatch_uid="agentcore_task.notify"
        )
        connect_signals()  # the handlers read AGENTCORE_TASK_AUTO_TRACK each time they fire
        connect_revoke_guard()  # a worker discards a message whose row is already REVOKED
        for signal in (request_started, request_finished):
            signal.connect(close_own_connections, dispatch_uid="agentcore_task.own_connections")
        merge_beat_schedule()  # the periodic jobs' entries into settings.CELERY_BEAT_SCHEDULE
        # Under django_celery_beat's DatabaseScheduler, our PeriodicTask rows instead.
        beat_init.connect(on_beat_init, weak=False, dispatch_uid="agentcore_task.beat_init")
        # A runtime crontab change moves that job's PeriodicTask row (when django_celery_beat
        # is installed): the configuration announces the change, the Beat glue acts on it.
        runtime_config_changed.connect(
            on_runtime_config_changed, dispatch_uid="agentcore_task.beat_push"
        )
