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

One job per module: :mod:`.text` (cleaning and capping text), :mod:`.redaction` (which keys
are secrets, URL credentials), :mod:`.convert` (the conversion above), :mod:`.encoding` (the
one encoder and the entry point :func:`encode`: convert, redact, cap, serialise). Every name
is importable from this package.
"""

from __future__ import annotations

from agentcore_task.jsonsafe.convert import MAX_DEPTH_LIMIT, JSONValue, to_json_safe
from agentcore_task.jsonsafe.encoding import cap_json_size, dumps, encode, encode_patch
from agentcore_task.jsonsafe.redaction import (
    REDACTED,
    SecretKeys,
    mask_credentials,
    normalise_key,
)
from agentcore_task.jsonsafe.text import clean_text, truncate_text

__all__ = [
    "MAX_DEPTH_LIMIT",
    "REDACTED",
    "JSONValue",
    "SecretKeys",
    "cap_json_size",
    "clean_text",
    "dumps",
    "encode",
    "encode_patch",
    "mask_credentials",
    "normalise_key",
    "to_json_safe",
    "truncate_text",
]
