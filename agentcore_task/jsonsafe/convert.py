"""The conversion of any Python value into a tree PostgreSQL ``jsonb`` accepts.

The rules, in the order they are tried, are listed in :mod:`agentcore_task.jsonsafe`. The walk
is iterative (an explicit stack), so no input depth can raise ``RecursionError``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import TypeAlias, cast

from agentcore_task.jsonsafe.redaction import (
    REDACTED,
    SecretKeys,
    as_secret_keys,
    mask_credentials,
)
from agentcore_task.jsonsafe.text import clean_text, safe_repr, safe_str, type_name

__all__ = ["MAX_DEPTH_LIMIT", "JSONValue", "to_json_safe"]

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None

MAX_DEPTH_LIMIT = 200
_REPR_CHARS = 200
_MAX_REDIRECTS = 16
_PG_NUMERIC_DIGITS = 131072
_LOG10_2 = 0.30103
_DONE = object()  # end-of-children sentinel; no user value can be this object


@dataclasses.dataclass(slots=True)
class _Expand:
    """Describe a container to build so the walk can fill it without recursion."""

    as_dict: bool
    children: list[tuple[str, object]] | list[object]


@dataclasses.dataclass(slots=True)
class _Redirect:
    """Ask the walk to convert another value in place of this one (Enum, model_dump)."""

    value: object


@dataclasses.dataclass(slots=True)
class _Node:
    """Hold a half-built container on the explicit stack that replaces recursion."""

    source: object  # keeps the object alive so its id() stays unique on the path
    out: list[JSONValue] | dict[str, JSONValue]
    pending: Iterator[object]
    depth: int


def _unserializable(value: object) -> str:
    """Describe a value with no JSON form so the stored row still says what it was."""
    name = type_name(type(value))
    text = safe_repr(value)
    if text is None:
        return clean_text(f"<unserializable {name}>")
    return clean_text(f"<unserializable {name}: {text[:_REPR_CHARS]}>")


def _exception_type_name(exc: BaseException) -> str:
    """Name an exception class the way a traceback would, without ``builtins.``."""
    tp = type(exc)
    module = getattr(tp, "__module__", None)
    if not isinstance(module, str) or module == "builtins":
        return type_name(tp)
    return f"{module}.{type_name(tp)}"


def _convert_key(key: object) -> str:
    """Turn a mapping key into a string key, since JSON objects only have string keys."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, str):
        return clean_text(key)
    return safe_str(key)


def _sorted_items(items: Iterable[object]) -> list[object]:
    """Order set items deterministically; sets iterate in hash-randomised order."""
    listed = list(items)
    try:
        return sorted(listed)  # type: ignore[type-var]
    except Exception:
        return sorted(listed, key=lambda item: (type_name(type(item)), safe_repr(item) or ""))


def _int_needs_string(value: int) -> bool:
    """Tell whether an int is too long for ``json.dumps`` or PostgreSQL ``numeric``."""
    limit = sys.get_int_max_str_digits() or _PG_NUMERIC_DIGITS
    digits = value.bit_length() * _LOG10_2 + 1  # never underestimates the digit count
    return digits >= min(limit, _PG_NUMERIC_DIGITS)


def _convert_one(value: object) -> JSONValue | _Expand | _Redirect:
    """Apply the first matching rule to one value; containers are described, not walked."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, enum.Enum):
        return _Redirect(value.value)
    if isinstance(value, int):
        number = int.__int__(value)
        return str(Decimal(number)) if _int_needs_string(number) else number
    if isinstance(value, float):
        number_f = float.__float__(value)
        if math.isnan(number_f):
            return "NaN"
        if math.isinf(number_f):
            return "Infinity" if number_f > 0 else "-Infinity"
        return number_f
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Decimal | uuid.UUID | PurePath):
        return clean_text(str(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return clean_text(value.isoformat())
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return clean_text(bytes(value).decode("utf-8", errors="backslashreplace"))
    if isinstance(value, BaseException):
        try:
            message = str(value)
        except Exception:
            message = safe_repr(value) or "<unprintable exception>"
        return _Redirect({"type": _exception_type_name(value), "message": message})
    if isinstance(value, Mapping):
        return _Expand(True, [(_convert_key(k), v) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return _Expand(False, list(value))
    if isinstance(value, set | frozenset):
        return _Expand(False, _sorted_items(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return _Expand(True, [(f.name, getattr(value, f.name)) for f in fields])
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump) and not isinstance(value, type):
        return _Redirect(model_dump())
    return _unserializable(value)


def to_json_safe(
    value: object,
    *,
    redact_keys: SecretKeys | Iterable[str] = frozenset(),
    max_depth: int = 32,
) -> JSONValue:
    """Convert any value into a jsonb-safe tree, following the module's rules; never raise."""
    keys = as_secret_keys(redact_keys)
    masking = bool(keys)
    try:
        limit = max(0, min(int(max_depth), MAX_DEPTH_LIMIT))
    except Exception:
        limit = 32
    stack: list[_Node] = []
    on_path: set[int] = set()

    def place(item: object, depth: int) -> JSONValue:
        """Convert one value; a container is created empty and queued for filling."""
        source = item
        for _ in range(_MAX_REDIRECTS):
            try:
                result = _convert_one(item)
            except Exception:
                return _unserializable(item)
            if not isinstance(result, _Redirect):
                break
            item = result.value
        else:
            return _unserializable(source)
        if not isinstance(result, _Expand):
            return mask_credentials(result) if masking and isinstance(result, str) else result
        if depth >= limit:
            return "<max depth exceeded>"
        if id(source) in on_path:
            return "<circular reference>"
        out: list[JSONValue] | dict[str, JSONValue] = {} if result.as_dict else []
        stack.append(_Node(source, out, iter(result.children), depth))
        on_path.add(id(source))
        return out

    root = place(value, 0)
    while stack:
        node = stack[-1]
        child = next(node.pending, _DONE)
        if child is _DONE:
            stack.pop()
            on_path.discard(id(node.source))
        elif isinstance(node.out, list):
            node.out.append(place(child, node.depth + 1))
        else:
            key, item = cast(tuple[str, object], child)
            if key in node.out:
                continue
            node.out[key] = REDACTED if keys.is_secret(key) else place(item, node.depth + 1)
    return root
