"""The original's import path: ``from agentcore_task.adapters.django import ...``.

The same public names as ``agentcore_task``, the canonical path, resolved on first use
(PEP 562) so that listing this package in ``INSTALLED_APPS`` or importing it from settings
does not load models early. No logic and no list of its own lives here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcore_task.public import PUBLIC_NAMES, resolve

if TYPE_CHECKING:
    from agentcore_task import *  # noqa: F403  (for type checkers: the same objects)

__all__ = sorted(PUBLIC_NAMES)


def __getattr__(name: str) -> object:
    return resolve(__name__, name)


def __dir__() -> list[str]:
    return sorted(__all__)
