"""Plain-text tables for the operator command: aligned columns, numbers on the right."""

from __future__ import annotations

from collections.abc import Sequence


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return ``rows`` under ``headers`` as aligned text, one line per row.

    Integers are right-aligned (so digits line up), everything else left-aligned; columns
    are separated by two spaces and no line has trailing spaces.
    """
    cells = [[str(value) for value in row] for row in rows]
    widths = [
        max(len(header), *(len(row[index]) for row in cells)) if cells else len(header)
        for index, header in enumerate(headers)
    ]
    numeric = [
        bool(rows) and all(isinstance(row[index], int) for row in rows)
        for index in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        padded = [
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join(
        [line(list(headers)), line(["-" * width for width in widths])]
        + [line(row) for row in cells]
    )
