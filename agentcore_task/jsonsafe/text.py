"""Text made storable: cleaned of what PostgreSQL rejects, capped, and printed safely.

Shared by the conversion (every string it outputs goes through :func:`clean_text`) and by the
tracker's error and traceback texts (:func:`truncate_text`). Nothing here raises on any input.
"""

from __future__ import annotations

import re

__all__ = ["clean_text", "safe_repr", "safe_str", "truncate_text", "type_name"]

_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
_MARKER = "\n…[truncated {} characters]"


def clean_text(text: str) -> str:
    """Replace NUL and lone surrogates with U+FFFD because PostgreSQL rejects both."""
    try:
        if _BAD_CHARS.search(text) is not None:
            text = _BAD_CHARS.sub("\ufffd", text)
        return text if type(text) is str else str.__str__(text)
    except Exception:
        return safe_str(text)


def type_name(tp: type) -> str:
    """Name a type for markers without trusting metaclass attributes to be strings."""
    try:
        name = getattr(tp, "__qualname__", None)
    except Exception:
        name = None
    return name if isinstance(name, str) else "?"


def safe_repr(value: object) -> str | None:
    """Return ``repr(value)`` or None, since user ``__repr__`` methods may raise."""
    try:
        return repr(value)
    except Exception:
        return None


def safe_str(value: object) -> str:
    """Return a cleaned ``str(value)`` with repr and type-name fallbacks; never raise."""
    try:
        text = str(value)
    except Exception:
        text = safe_repr(value) or f"<unprintable {type_name(type(value))}>"
    return clean_text(text) if isinstance(text, str) else "<unprintable>"


def truncate_text(text: str | None, max_chars: int) -> str | None:
    """Cap a long text (logs, tracebacks) so one task cannot bloat its row; say so visibly.

    None stays None and the text is cleaned. A text longer than ``max_chars`` keeps its start
    and ends with ``"\\n…[truncated N characters]"``; the result never exceeds ``max_chars``.
    That marker needs at most about 45 characters, so ``max_chars`` should be at least 64;
    below the marker's length the text is simply cut (and a negative limit gives ``""``).
    """
    if text is None:
        return None
    text = clean_text(text) if isinstance(text, str) else safe_str(text)
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
