"""Turn arbitrary Python values into values PostgreSQL ``jsonb`` accepts.

Task arguments, results and progress payloads come from user code and may hold anything.
Storing them must never break the user's Celery task, so no function here raises on any
input value: whatever cannot be represented becomes a descriptive string instead.

Conversion rules of :func:`to_json_safe` (checked in this order):

- ``None``, ``bool``, ``int`` and ``str`` are kept (``bool`` is checked before ``int``);
  subclasses become the plain type.
- ``int`` with too many digits for ``json.dumps`` (``sys.get_int_max_str_digits()``) or
  for PostgreSQL ``numeric`` (131072 digits) becomes its exact decimal string.
- Every string (values, keys and the markers below) is cleaned by :func:`clean_text`:
  NUL (``\\u0000``, rejected by both PostgreSQL ``text`` and ``jsonb``) and lone surrogates
  (such as ``'\\ud800'``, which cannot be encoded in UTF-8) become U+FFFD.
- Enum members become their ``.value``, converted by these same rules (so ``IntEnum`` and
  ``StrEnum`` members give numbers and strings).
- ``float``: finite values are kept; NaN becomes ``"NaN"``, +inf ``"Infinity"`` and -inf
  ``"-Infinity"`` (``jsonb`` rejects them as numbers).
- ``datetime``, ``date`` and ``time`` become ``isoformat()``; ``timedelta`` becomes its
  total seconds as a float.
- ``Decimal`` becomes ``str(value)`` (exact; ``"NaN"`` and ``"Infinity"`` stay strings);
  ``UUID`` and ``pathlib.PurePath`` become ``str(value)``.
- ``bytes``, ``bytearray`` and ``memoryview`` are decoded as UTF-8 with
  ``errors="backslashreplace"``.
- Exceptions become ``{"type": <class name>, "message": str(exc)}``; the class name is
  ``__qualname__`` for builtins and ``module.__qualname__`` otherwise. If ``str(exc)``
  raises, ``repr(exc)`` is used, then ``"<unprintable exception>"``.
- A ``Mapping`` becomes a ``dict``. Keys: ``str`` kept, ``None`` -> ``"null"``, ``True`` ->
  ``"true"``, ``False`` -> ``"false"``, anything else -> ``str(key)`` (``repr(key)`` if
  that raises). When two keys convert to the same string, the first one wins.
- ``list`` and ``tuple`` become a ``list``; ``set`` and ``frozenset`` become a ``list``,
  sorted when the items are comparable, otherwise sorted by (type name, ``repr``).
- Dataclass instances become a ``dict`` of their fields (not recursing through
  ``dataclasses.asdict``, so cycles and deep nesting stay under control).
- Objects with a callable ``model_dump`` (pydantic models) become the converted result of
  ``model_dump()``.
- Anything else, and any value whose conversion raised, becomes
  ``"<unserializable TypeQualname: repr cut to 200 chars>"``, or
  ``"<unserializable TypeQualname>"`` if ``repr`` raises. Generators and other iterators
  land here: they are never iterated, because iterating them has side effects.
- Redaction (``redact_keys``, a :class:`SecretKeys` or a plain collection of patterns): the
  value under any mapping key that :meth:`SecretKeys.is_secret` names a secret becomes
  :data:`REDACTED`, at any depth, inside lists too; and in every string value (not in keys)
  the user information of a URL (``postgres://user:pw@host``) is masked by
  :func:`mask_credentials`. Without redaction patterns neither happens.
- A container (any value that becomes a list or dict) nested ``max_depth`` levels below the
  top-level value becomes ``"<max depth exceeded>"``; ``max_depth`` is clamped to
  ``0..200`` because ``json.dumps`` and PostgreSQL's JSON parser are recursive.
- A container that contains itself (same object already on the current path) becomes
  ``"<circular reference>"``; the same object reached twice without a cycle is converted
  each time. The walk is iterative, so even 100,000 levels of nesting cannot hit
  ``RecursionError``.

The output is a fresh tree of plain ``dict``/``list``/``str``/``int``/``float``/``bool``/
``None`` that ``json.dumps(..., allow_nan=False)`` serialises, and converting it again
returns an equal value. See :func:`truncate_text` and :func:`cap_json_size` for the
size limits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import json
import math
import re
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import TypeAlias, cast

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None

REDACTED: str = "[REDACTED]"

MAX_DEPTH_LIMIT = 200
_REPR_CHARS = 200
_MAX_REDIRECTS = 16
_PG_NUMERIC_DIGITS = 131072
_LOG10_2 = 0.30103
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
_DONE = object()  # end-of-children sentinel; no user value can be this object
_MARKER = "\n…[truncated {} characters]"


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


def clean_text(text: str) -> str:
    """Replace NUL and lone surrogates with U+FFFD because PostgreSQL rejects both."""
    try:
        if _BAD_CHARS.search(text) is not None:
            text = _BAD_CHARS.sub("\ufffd", text)
        return text if type(text) is str else str.__str__(text)
    except Exception:
        return _safe_str(text)


def _qualname(tp: type) -> str:
    """Name a type for markers without trusting metaclass attributes to be strings."""
    try:
        name = getattr(tp, "__qualname__", None)
    except Exception:
        name = None
    return name if isinstance(name, str) else "?"


def _safe_repr(value: object) -> str | None:
    """Return ``repr(value)`` or None, since user ``__repr__`` methods may raise."""
    try:
        return repr(value)
    except Exception:
        return None


def _safe_str(value: object) -> str:
    """Return a cleaned ``str(value)`` with repr and type-name fallbacks; never raise."""
    try:
        text = str(value)
    except Exception:
        text = _safe_repr(value) or f"<unprintable {_qualname(type(value))}>"
    return clean_text(text) if isinstance(text, str) else "<unprintable>"


def _unserializable(value: object) -> str:
    """Describe a value with no JSON form so the stored row still says what it was."""
    name = _qualname(type(value))
    text = _safe_repr(value)
    if text is None:
        return clean_text(f"<unserializable {name}>")
    return clean_text(f"<unserializable {name}: {text[:_REPR_CHARS]}>")


def _exception_type_name(exc: BaseException) -> str:
    """Name an exception class the way a traceback would, without ``builtins.``."""
    tp = type(exc)
    module = getattr(tp, "__module__", None)
    if not isinstance(module, str) or module == "builtins":
        return _qualname(tp)
    return f"{module}.{_qualname(tp)}"


def _convert_key(key: object) -> str:
    """Turn a mapping key into a string key, since JSON objects only have string keys."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, str):
        return clean_text(key)
    return _safe_str(key)


def _sorted_items(items: Iterable[object]) -> list[object]:
    """Order set items deterministically; sets iterate in hash-randomised order."""
    listed = list(items)
    try:
        return sorted(listed)  # type: ignore[type-var]
    except Exception:
        return sorted(listed, key=lambda item: (_qualname(type(item)), _safe_repr(item) or ""))


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
            message = _safe_repr(value) or "<unprintable exception>"
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


_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")
# Userinfo of a URL: everything between "scheme://" and the last "@" before the host ends.
_URL_USERINFO = re.compile(
    r"(?i)(?P<scheme>\b[a-z][a-z0-9+.\-]{0,31}://)(?P<user>[^\s/?#@:\"'<>]*)"
    r"(?P<password>:[^\s/?#\"'<>]*)?@"
)


def normalise_key(key: str) -> str:
    """Fold case and drop separators, so ``X-Api-Key``, ``api_key`` and ``apiKey`` compare equal.

    Every character that is not a letter or a digit goes: ``" password"`` is ``password``,
    ``SECRET_KEY`` is ``secretkey``.
    """
    try:
        return _normalised(str.__str__(key)) if len(key) <= 256 else _normalise(key)
    except Exception:
        return ""


def _normalise(key: str) -> str:
    return _NOT_ALPHANUMERIC.sub("", key.casefold())


# Tasks write the same few keys on every progress update: normalise each name once.
_normalised = functools.lru_cache(maxsize=4096)(_normalise)


def _compile_patterns(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """Join redaction patterns into one regex over normalised keys; None when there are none.

    Each pattern is a regular expression searched in the normalised key (so a plain word
    matches anywhere in it). ``-``, ``_`` and spaces are dropped from a pattern as they are
    from keys; a pattern that is not a valid regex is matched literally, since a typo in a
    setting must not turn redaction off.
    """
    parts: list[str] = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            continue
        text = re.sub(r"[-_\s]+", "", pattern.casefold())
        if not text:
            continue
        try:
            re.compile(text)
        except re.error:
            text = re.escape(normalise_key(text))
        parts.append(f"(?:{text})")
    return re.compile("|".join(parts)) if parts else None


class SecretKeys:
    """Decide which mapping keys hold secrets: pattern matches on normalised names.

    Args:
        patterns: regular expressions searched in the normalised key (see
            :func:`normalise_key`), e.g. ``"password"`` or ``"api.?key"`` or ``"^auth$"``.
        allow: exact normalised names never redacted although a pattern matches (false
            positives such as ``token_count``).
    """

    __slots__ = ("_allow", "_regex", "patterns")

    def __init__(self, patterns: Iterable[str] = (), allow: Iterable[str] = ()) -> None:
        try:
            self.patterns: tuple[str, ...] = tuple(p for p in patterns if isinstance(p, str))
        except Exception:
            self.patterns = ()
        self._regex = _compile_patterns(self.patterns)
        try:
            self._allow = frozenset(normalise_key(a) for a in allow if isinstance(a, str))
        except Exception:
            self._allow = frozenset()

    def __bool__(self) -> bool:
        return self._regex is not None

    def is_secret(self, key: object) -> bool:
        """Tell whether the value under ``key`` must be stored as :data:`REDACTED`."""
        if self._regex is None or not isinstance(key, str):
            return False
        name = normalise_key(key)
        if not name or name in self._allow:
            return False
        return self._regex.search(name) is not None

    def __contains__(self, key: object) -> bool:
        return self.is_secret(key)

    def __repr__(self) -> str:
        return f"SecretKeys({list(self.patterns)!r}, allow={sorted(self._allow)!r})"


def mask_credentials(text: str) -> str:
    """Mask the user information of every URL in ``text``: ``scheme://user:[REDACTED]@host``.

    A URL with a password keeps its user name; one with only a user part (often a token,
    ``https://ghp_…@github.com``) has it masked. Everything up to the last ``@`` before the
    host counts, so a password with an unescaped ``@`` is masked whole. Never raises.
    """
    try:
        if "://" not in text:
            return text
        return _URL_USERINFO.sub(_mask_userinfo, text)
    except Exception:
        return text


def _mask_userinfo(match: re.Match[str]) -> str:
    if match.group("password") is not None:
        return f"{match.group('scheme')}{match.group('user')}:{REDACTED}@"
    return f"{match.group('scheme')}{REDACTED}@"


def _secret_keys(redact_keys: object) -> SecretKeys:
    """Accept a :class:`SecretKeys` or a collection of patterns; a mistake must not leak."""
    if isinstance(redact_keys, SecretKeys):
        return redact_keys
    if isinstance(redact_keys, str):
        return SecretKeys((redact_keys,))
    try:
        return SecretKeys(cast(Iterable[str], redact_keys))
    except Exception:
        return SecretKeys()


def to_json_safe(
    value: object,
    *,
    redact_keys: SecretKeys | Iterable[str] = frozenset(),
    max_depth: int = 32,
) -> JSONValue:
    """Convert any value into a jsonb-safe tree, following the module's rules; never raise."""
    keys = _secret_keys(redact_keys)
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


def redact(value: JSONValue, redact_keys: SecretKeys | Iterable[str]) -> JSONValue:
    """Return a copy with secrets under ``redact_keys`` replaced, for values stored earlier.

    This is :func:`to_json_safe` at the deepest allowed depth: an already-safe value is only
    redacted (and copied), anything else is also made safe.
    """
    return to_json_safe(value, redact_keys=redact_keys, max_depth=MAX_DEPTH_LIMIT)


def truncate_text(text: str | None, max_chars: int) -> str | None:
    """Cap a long text (logs, tracebacks) so one task cannot bloat its row; say so visibly.

    None stays None and the text is cleaned. A text longer than ``max_chars`` keeps its start
    and ends with ``"\\n…[truncated N characters]"``; the result never exceeds ``max_chars``.
    That marker needs at most about 45 characters, so ``max_chars`` should be at least 64;
    below the marker's length the text is simply cut (and a negative limit gives ``""``).
    """
    if text is None:
        return None
    text = clean_text(text) if isinstance(text, str) else _safe_str(text)
    try:
        limit = max(0, int(max_chars))
    except Exception:
        return text
    if len(text) <= limit:
        return text
    longest_marker = _MARKER.format(len(text))
    if len(longest_marker) > limit:
        return text[:limit]
    keep = limit - len(longest_marker)
    return text[:keep] + _MARKER.format(len(text) - keep)


def _dumps(value: JSONValue) -> str:
    """Serialise compactly, exactly the way sizes are measured for the caps."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def cap_json_size(value: JSONValue, max_bytes: int) -> JSONValue:
    """Replace a value whose JSON is too big with a small preview, to bound row size.

    The size is ``len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())``.
    Within ``max_bytes`` the value is returned unchanged. Otherwise the result is
    ``{"_truncated": True, "original_bytes": size, "preview": <start of that JSON text>}``,
    the preview cut on a character boundary so the whole result's size is <= ``max_bytes``.
    A value ``json.dumps`` rejects (NaN, lone surrogates, too deep) is first passed through
    :func:`to_json_safe`. If even an empty preview does not fit (``max_bytes`` below about
    70), the result is None.
    """
    try:
        text = _dumps(value)
        size = len(text.encode("utf-8"))
    except Exception:
        value = to_json_safe(value)
        text = _dumps(value)
        size = len(text.encode("utf-8"))
    if size <= max_bytes:
        return value

    def envelope(chars: int) -> dict[str, JSONValue]:
        """Build the replacement object with a preview of the first ``chars`` characters."""
        return {"_truncated": True, "original_bytes": size, "preview": text[:chars]}

    def fits(chars: int) -> bool:
        """Tell whether the envelope with this preview stays within ``max_bytes``."""
        return len(_dumps(envelope(chars)).encode("utf-8")) <= max_bytes

    if not fits(0):
        return None
    # Invariant: fits(low). Each character costs at least one byte, hence the upper bound.
    low, high = 0, min(len(text), max_bytes)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return envelope(low)
