"""Turn a PostgreSQL URL into a Django ``DATABASES`` entry, for the test settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


def database_settings_from_url(url: str) -> dict[str, Any]:
    """Turn a ``postgres://`` / ``postgresql://`` URL into a Django ``DATABASES`` entry.

    Query parameters become ``OPTIONS`` (``sslmode``, ``connect_timeout``...), except
    ``host`` and ``port``, which libpq URLs use for a Unix socket directory
    (``postgresql://user@/db?host=/run/postgresql``) and which Django wants in HOST/PORT.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"Not a PostgreSQL URL (postgres:// or postgresql://): {url!r}")
    options: dict[str, str] = dict(parse_qsl(parts.query, keep_blank_values=True))
    host = unquote(parts.hostname or "")
    port = str(parts.port) if parts.port is not None else ""
    query_host = options.pop("host", "")
    query_port = options.pop("port", "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host or query_host,
        "PORT": port or query_port,
        "OPTIONS": options,
    }
