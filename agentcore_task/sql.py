"""Load the hand-written statements in ``sql/*.sql`` into ``{name: statement}``.

Each statement starts with a header line ``-- name: <name>`` followed by comment lines that
say what it is for; the statement runs until the next header. Parameters are ``%(named)s``.
A wheel carries the files as ``agentcore_task/_sql`` (hatchling force-include); an editable
install or a source checkout reads the top-level ``sql/`` directory instead.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def sql_directory() -> Path:
    """Return the directory holding the ``.sql`` files, packaged or in the source tree."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir / "_sql", package_dir.parent / "sql"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"agentcore_task cannot find its SQL files next to {package_dir}; reinstall the package"
    )


def parse_queries(text: str, source: str = "<string>") -> dict[str, str]:
    """Split one file's text into named statements.

    Raises:
        ValueError: text before the first header, a name defined twice, or an empty body.
    """
    parts = _HEADER.split(text)
    preamble, pairs = parts[0], parts[1:]
    if preamble.strip() and not all(
        line.startswith("--") for line in preamble.strip().splitlines()
    ):
        raise ValueError(f"{source}: SQL before the first '-- name:' header")
    queries: dict[str, str] = {}
    for name, body in zip(pairs[0::2], pairs[1::2], strict=True):
        statement = body.strip().rstrip(";").strip()
        if name in queries:
            raise ValueError(f"{source}: query {name!r} is defined twice")
        if not any(line and not line.startswith("--") for line in statement.splitlines()):
            raise ValueError(f"{source}: query {name!r} has no statement")
        queries[name] = statement
    return queries


@functools.cache
def queries() -> dict[str, str]:
    """Return every named statement of every file, loaded once per process."""
    found: dict[str, str] = {}
    for path in sorted(sql_directory().glob("*.sql")):
        for name, statement in parse_queries(path.read_text(encoding="utf-8"), path.name).items():
            if name in found:
                raise ValueError(f"{path.name}: query {name!r} is also defined in another file")
            found[name] = statement
    return found


def query(name: str) -> str:
    """Return the statement called ``name``.

    Raises:
        KeyError: no file defines it.
    """
    try:
        return queries()[name]
    except KeyError:
        raise KeyError(f"no SQL statement named {name!r} in {sql_directory()}") from None
