"""Runtime overrides of the periodic jobs' settings, kept in the database.

Operators change the retention, the timeout and the two Beat crontabs without a deploy
(``PATCH api/v1/tasks/config/`` or :func:`update_runtime_config`). Whoever needs one of these
values asks the ``effective_*`` functions: the database override when there is one, else the
``AGENTCORE_TASK_*`` setting, else its default.

One job per module: :mod:`.fields` (the fields and their validation), :mod:`.cache` (this
process's copy of the row), :mod:`.store` (the readers and the writer). This package imports
nothing of Beat: a change reaches django_celery_beat through the
:data:`agentcore_task.signals.runtime_config_changed` signal, which the Beat glue receives.

Caching: the overrides row is cached per process for ``AGENTCORE_TASK_CONFIG_CACHE_SECONDS``
(default 30; 0 turns the cache off). A write clears the cache of the process that wrote;
every other process (other web workers, Celery workers, Beat) keeps its cached copy until it
expires, so it sees the change up to that many seconds later.

Failure policy: the readers never raise because of the database. When the table is missing
(before ``migrate``) or the database is unreachable, they log one WARNING and use the
settings.
"""

from __future__ import annotations

from agentcore_task.exceptions import RuntimeConfigError
from agentcore_task.runtime_config.cache import clear_cache
from agentcore_task.runtime_config.fields import (
    CRONTAB_FIELDS,
    CRONTAB_MAX_LENGTH,
    FIELDS,
    Source,
    validate_crontab,
)
from agentcore_task.runtime_config.store import (
    RuntimeConfig,
    effective_cleanup_crontab,
    effective_mark_timeout_crontab,
    effective_retention_days,
    effective_timeout_minutes,
    get_runtime_config,
    update_runtime_config,
)

__all__ = [
    "CRONTAB_FIELDS",
    "CRONTAB_MAX_LENGTH",
    "FIELDS",
    "RuntimeConfig",
    "RuntimeConfigError",
    "Source",
    "clear_cache",
    "effective_cleanup_crontab",
    "effective_mark_timeout_crontab",
    "effective_retention_days",
    "effective_timeout_minutes",
    "get_runtime_config",
    "update_runtime_config",
    "validate_crontab",
]
