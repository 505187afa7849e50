"""The one check of an integer argument or setting: an int (never a bool), within bounds.

Counts, sizes, timeouts and percentages all come through here, so that every entry point
refuses the same things with the same kind of message: the parameter's name and the value.
``bool`` is refused although it is an ``int`` subclass: ``True`` passed as a count is a
mistake, not a 1. Pure: no Django, usable from ``conf`` and the lock backends alike.
"""

from __future__ import annotations

__all__ = ["checked_int"]


def checked_int(
    name: str,
    value: object,
    *,
    minimum: int = 1,
    maximum: int | None = None,
    not_int: type[Exception] = TypeError,
) -> int:
    """Return ``value`` when it is an int from ``minimum`` to ``maximum`` (inclusive).

    Args:
        name: how the caller knows the value (an argument or a setting), quoted in the error.
        minimum, maximum: the bounds; ``maximum=None``: no upper bound. The default asks for
            a positive int.
        not_int: the exception for a value that is not an int. ``TypeError`` by default;
            the entry points whose callers catch ``ValueError`` for any bad value (settings,
            progress, sync caps) keep raising that.

    Raises:
        not_int: ``value`` is not an int, or is a bool.
        ValueError: out of bounds.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise not_int(f"{name} must be an int, not {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {_bounds(minimum, maximum)}, got {value!r}")
    return value


def _bounds(minimum: int, maximum: int | None) -> str:
    if maximum is not None:
        return f"an int from {minimum} to {maximum}"
    if minimum == 1:
        return "a positive int"
    return f"an int >= {minimum}"
