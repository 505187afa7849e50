"""The library's Django signals.

``runtime_config_changed`` lets whoever must react to a runtime-configuration change (the
django_celery_beat glue moves the PeriodicTask rows of the jobs whose crontab changed) do so
without the runtime configuration importing it: the configuration is a service the Beat glue
builds on, so the dependency points from the glue to the configuration, never back.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["runtime_config_changed"]

# Sent once the change is committed (never for a rolled-back one), by
# agentcore_task.runtime_config.update_runtime_config, with sender=TaskRuntimeConfig and
# fields=the sorted names of the fields it set or cleared. Receivers are called robustly:
# the change is stored already, so a receiver's failure is logged, not raised to the writer.
runtime_config_changed = Signal()
