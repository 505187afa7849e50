"""Checks on caller arguments, run before any SQL so a mistake is a clear error at the call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentcore_task.exceptions import exception_text, first_line
from agentcore_task.jsonsafe import clean_text

__all__ = [
    "exception_text",
    "first_line",
    "optional_mapping",
    "optional_sequence",
    "optional_text",
    "require_label",
    "require_task_id",
    "user_id",
]


def require_task_id(task_id: object) -> str:
    """Return a usable task id.

    Raises:
        TypeError: not a string.
        ValueError: empty, longer than 255 characters, or containing NUL.
    """
    if not isinstance(task_id, str):
        raise TypeError(f"task_id must be a str, not {type(task_id).__name__}")
    if not task_id.strip():
        raise ValueError("task_id must not be empty")
    if len(task_id) > 255:
        raise ValueError(f"task_id is {len(task_id)} characters long; the limit is 255")
    if "\x00" in task_id:
        raise ValueError("task_id must not contain NUL characters")
    return task_id


def require_label(name: str, value: object, max_length: int) -> str:
    """Return a non-empty name such as ``task_name`` or ``module``, cleaned for PostgreSQL.

    Raises:
        TypeError: not a string.
        ValueError: empty or longer than ``max_length``.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    cleaned = clean_text(value).strip()
    if not cleaned:
        raise ValueError(f"{name} must not be empty")
    if len(cleaned) > max_length:
        raise ValueError(f"{name} is {len(cleaned)} characters long; the limit is {max_length}")
    return cleaned


def optional_mapping(name: str, value: object) -> Mapping[str, Any] | None:
    """Return ``value`` when it is a mapping or None.

    Raises:
        TypeError: anything else.
    """
    if value is None or isinstance(value, Mapping):
        return value
    raise TypeError(f"{name} must be a dict, not {type(value).__name__}")


def optional_sequence(name: str, value: object) -> list[Any] | None:
    """Return ``value`` as a list when it is a list or tuple, or None.

    Raises:
        TypeError: anything else (a str or dict is a mistake, not a sequence of arguments).
    """
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return list(value)
    raise TypeError(f"{name} must be a list or tuple, not {type(value).__name__}")


def optional_text(name: str, value: object) -> str | None:
    """Return ``value`` as text: a str as is, an exception as ``Type: message``.

    Raises:
        TypeError: anything else.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, BaseException):
        message = exception_text(value)
        return f"{type(value).__name__}: {message}" if message else type(value).__name__
    raise TypeError(f"{name} must be a str or an exception, not {type(value).__name__}")


def user_id(created_by: object) -> int | None:
    """Return the primary key for ``created_by``: a user object, a user id, or None.

    An anonymous user (``request.user`` when nobody is logged in) counts as no creator.

    Raises:
        TypeError: anything else.
    """
    if created_by is None:
        return None
    if isinstance(created_by, bool):
        raise TypeError("created_by must be a user, a user id or None, not bool")
    if isinstance(created_by, int):
        return created_by
    if getattr(created_by, "is_anonymous", False) is True:
        return None
    pk = getattr(created_by, "pk", None)
    if isinstance(pk, int) and not isinstance(pk, bool):
        return pk
    raise TypeError(
        f"created_by must be a saved user, a user id or None, not {type(created_by).__name__}"
    )
