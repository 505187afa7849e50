"""agentcore-task: one trustworthy PostgreSQL row per Celery task execution.

Every public name is importable from here (``from agentcore_task import dispatch``), resolved
on first use (PEP 562), so listing the app in ``INSTALLED_APPS`` or importing it from a
settings file loads no models before ``django.setup()``.
"""

from __future__ import annotations

from agentcore_task.public import PUBLIC_NAMES, resolve

__version__ = "0.1.0"

__all__ = sorted(PUBLIC_NAMES)


def __getattr__(name: str) -> object:
    return resolve(__name__, name)


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])
