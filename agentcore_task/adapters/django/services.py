"""The same public names as ``agentcore_task.adapters.django``, for code importing ``.services``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcore_task.adapters.django import __all__ as _package_all
from agentcore_task.public import resolve

if TYPE_CHECKING:
    from agentcore_task.adapters.django import *  # noqa: F403

__all__ = list(_package_all)


def __getattr__(name: str) -> object:
    return resolve(__name__, name)


def __dir__() -> list[str]:
    return sorted(__all__)
