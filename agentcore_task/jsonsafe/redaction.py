"""Which values are secrets, and masking the credentials inside URLs.

A value is a secret when its mapping key, normalised (case folded, separators dropped),
matches one of the redaction patterns (``AGENTCORE_TASK_REDACT_KEYS``) and is not on the
allow-list. Pure: ``conf`` builds a :class:`SecretKeys` from the settings; the conversion
applies it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import cast

__all__ = ["REDACTED", "SecretKeys", "as_secret_keys", "mask_credentials", "normalise_key"]

REDACTED: str = "[REDACTED]"

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


def as_secret_keys(redact_keys: object) -> SecretKeys:
    """Accept a :class:`SecretKeys` or a collection of patterns; a mistake must not leak."""
    if isinstance(redact_keys, SecretKeys):
        return redact_keys
    if isinstance(redact_keys, str):
        return SecretKeys((redact_keys,))
    try:
        return SecretKeys(cast(Iterable[str], redact_keys))
    except Exception:
        return SecretKeys()
