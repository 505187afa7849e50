"""Talk to a server without a client library: is a port open, does Redis answer, create a DB.

Resolution (``resolve.py``) and the embedded servers both need these; keeping them here
lets the probes be patched in one place by the tests that pretend nothing runs locally.
"""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

LOCAL_HOST = "127.0.0.1"
PROBE_TIMEOUT = 0.5
"""Seconds to wait for a local server: a missing one refuses at once, a firewalled one hangs."""


def postgres_url(host: str, port: int, dbname: str) -> str:
    """Build the trust-auth URL for user ``postgres`` used for local and embedded servers."""
    return f"postgresql://postgres@{host}:{port}/{quote(dbname, safe='')}"


def port_open(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """Tell whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_ping(host: str, port: int, timeout: float) -> bool:
    """Tell whether a Redis answers PING without authentication on ``host:port``.

    Speaks the protocol directly so that probing needs no client library.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            reply = b""
            while not reply.endswith(b"\r\n") and len(reply) < 256:
                chunk = sock.recv(256)
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return False
    return reply.startswith(b"+PONG")


def free_port(host: str = LOCAL_HOST) -> int:
    """Return a TCP port nobody listens on right now (the OS picks it for port 0).

    Another process may take it before the server binds; the callers retry on that.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_database(url: str) -> None:
    """Create the database ``url`` names unless it exists, connecting to ``postgres`` to do it."""
    parts = urlsplit(url)
    dbname = parts.path.lstrip("/")
    if dbname:
        create_database(urlunsplit(parts._replace(path="/postgres")), dbname)


def create_database(admin_url: str, dbname: str) -> None:
    """Create ``dbname`` through ``admin_url`` unless it exists (concurrent creators ok)."""
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if exists:
            return
        # Two processes may both have seen it missing: the loser gets one of these.
        with contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def log_tail(path: Path, lines: int = 40) -> str:
    """Return the end of a server log, for error messages that explain a failed start."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"
