"""Serialising converted values, and keeping them within a size: the JSON entry point.

:func:`encode` and :func:`encode_patch` are the one way a value reaches a ``%s::jsonb``
parameter: converted and redacted (:func:`~agentcore_task.jsonsafe.convert.to_json_safe`),
capped (:func:`cap_json_size`) and serialised by :func:`dumps`, the one encoder, which is
also how the caps measure a size. They take the redaction patterns and the cap as arguments
because this package reads no settings (``conf`` imports it); the services pass the settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from agentcore_task.jsonsafe.convert import JSONValue, to_json_safe
from agentcore_task.jsonsafe.redaction import SecretKeys

__all__ = ["cap_json_size", "dumps", "encode", "encode_patch"]


def dumps(value: JSONValue) -> str:
    """Serialise compactly (no spaces, UTF-8 kept, no NaN), exactly as sizes are measured."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode(value: object, *, redact_keys: SecretKeys | Iterable[str], max_bytes: int) -> str:
    """Return ``value`` converted, redacted, capped to ``max_bytes`` and serialised."""
    converted = to_json_safe(value, redact_keys=redact_keys)
    text = dumps(converted)
    if _fits(text, max_bytes):
        return text
    return dumps(cap_json_size(converted, max_bytes))


def encode_patch(
    patch: Mapping[str, object], *, redact_keys: SecretKeys | Iterable[str], max_bytes: int
) -> str:
    """Return a metadata patch converted, redacted and serialised, capping each value on its own.

    Capping per key keeps the patch a flat merge of the caller's keys: one oversized value is
    replaced by its truncation marker while its neighbours are stored as given. The common
    case, a patch within the cap as a whole, is serialised once.
    """
    converted = to_json_safe(dict(patch), redact_keys=redact_keys)
    assert isinstance(converted, dict)
    text = dumps(converted)
    if _fits(text, max_bytes):
        return text
    return dumps({key: cap_json_size(value, max_bytes) for key, value in converted.items()})


def _fits(text: str, max_bytes: int) -> bool:
    # A character is at most 4 bytes in UTF-8: most texts are judged without encoding them.
    return len(text) * 4 <= max_bytes or len(text.encode("utf-8")) <= max_bytes


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
        text = dumps(value)
        size = len(text.encode("utf-8"))
    except Exception:
        value = to_json_safe(value)
        text = dumps(value)
        size = len(text.encode("utf-8"))
    if size <= max_bytes:
        return value

    def envelope(chars: int) -> dict[str, JSONValue]:
        """Build the replacement object with a preview of the first ``chars`` characters."""
        return {"_truncated": True, "original_bytes": size, "preview": text[:chars]}

    def fits(chars: int) -> bool:
        """Tell whether the envelope with this preview stays within ``max_bytes``."""
        return len(dumps(envelope(chars)).encode("utf-8")) <= max_bytes

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
