"""The ``"advisory"`` lock backend: PostgreSQL session-level advisory locks.

A lock name hashes to a signed 64-bit key in a namespace of our own
(:func:`advisory_lock_key`). Each process takes its locks with ``pg_try_advisory_lock`` on
one dedicated autocommit connection per database alias (``AGENTCORE_TASK_LOCK_DATABASE``),
made from that alias's settings but never handed to Django, so Django closing its request
connections does not drop the locks. The server frees a lock the moment its holder's
session ends, which includes the holder process dying, however it dies.

``timeout`` does not apply: an advisory lock is held until it is released or its session
ends. Session locks need the same server session for lock and unlock, so the alias must be
a direct connection or a session-pooling PgBouncer, never a transaction-pooling one.

``pg_locks`` shows a held lock only as its key. So that operators can see lock *names*, the
session records each name it takes in ``agentcore_task_lock_name`` (name, key, owner, task
id of the holder, since), in the same statement that takes the lock. A release leaves the
record: the listing joins the records with ``pg_locks``, so a record whose key nobody holds
(released, or its holder died) shows nothing, and the listing deletes such records once they
are a few seconds old. So a name locked over and over updates one row in place rather than
inserting and deleting one per lock (whose dead index entries made each next insert slower).
The table is UNLOGGED (like the locks themselves it does not survive a crash, and its writes
cost no WAL flush). A lock database without the table is logged once and locks without the
records.

PostgreSQL counts repeated takes of a key by one session, so it cannot tell two threads of
one process apart; the process keeps its own ``{key: owner}`` registry of what its session
holds, which makes the locks exclusive between threads and owner-only on release.

The session can be lost while a lock is held (``pg_terminate_backend``, a forced release from
another process, a server restart, ``idle_session_timeout``, a failover): the server then
frees the lock and another run may take it, and the holder is not told until it next uses
the connection. So before the registry is trusted — an acquire refused because this process
holds the key, :meth:`AdvisoryLockBackend.is_held`, a release — the session is asked whether
it still holds the key; a dead one is dropped with one WARNING naming the locks it lost. An
advisory lock gives no fencing: nothing stops the first body from running on meanwhile.
TCP keepalives (defaults below, overridable in the alias's ``OPTIONS``) bound how long a
silently broken connection goes unnoticed.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from typing import Any

import psycopg
from django.db import connections

from agentcore_task import conf
from agentcore_task.exceptions import first_line
from agentcore_task.locks.base import HeldLock, LockBackendError, check_lock_name
from agentcore_task.sql import query

__all__ = ["AdvisoryLockBackend", "advisory_lock_ids", "advisory_lock_key", "close_sessions"]

logger = logging.getLogger("agentcore_task.locks")

NAMESPACE = b"agentcore_task.lock:"
"""Hashed in front of every name, so our keys do not collide with other users' numbering."""
APPLICATION_NAME = "agentcore_task.locks"
"""What pg_stat_activity shows for the lock sessions, unless the alias's OPTIONS set one."""
TERMINATE_WAIT_MS = 5000
STALE_NAME_GRACE = "10 seconds"
"""A name record younger than this is never taken for stale: its lock may be in flight."""
KEEPALIVE_DEFAULTS: dict[str, int] = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 60_000,
}
"""libpq settings the lock session uses unless the alias's OPTIONS set them: a peer that
vanished (failover, network partition) is noticed within about a minute, not the operating
system's two hours."""


def advisory_lock_key(lock_name: str) -> int:
    """Return the signed 64-bit key ``pg_try_advisory_lock`` takes for a lock name.

    Stable across processes, hosts and releases: the first 8 bytes of
    ``blake2b(b"agentcore_task.lock:" + name_utf8)``, big-endian, as a signed integer.
    """
    return _key(check_lock_name(lock_name))


@functools.lru_cache(maxsize=4096)  # tasks lock the same few names again and again
def _key(lock_name: str) -> int:
    data = NAMESPACE + lock_name.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


def advisory_lock_ids(lock_name: str) -> tuple[int, int]:
    """Return the ``(classid, objid)`` pair under which ``pg_locks`` shows the lock.

    PostgreSQL shows a bigint key as its high 32 bits in ``classid`` and its low 32 bits
    in ``objid``, both unsigned, with ``objsubid = 1``, ``locktype = 'advisory'``.
    """
    unsigned = advisory_lock_key(lock_name) & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


def _storable(lock_name: str) -> str:
    """The name as PostgreSQL text can hold it: NUL and lone surrogates become U+FFFD (the
    key, not this record, is what locks)."""
    text = lock_name.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text.replace("\x00", "\ufffd")


def _first_line(exc: BaseException) -> str:
    """Name the error and its first line: the class says more than psycopg's text alone."""
    text = first_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Session:
    """This process's dedicated connection to one database alias, and what it holds there.

    Use it only under ``mutex``: a connection runs one statement at a time, and ``held``
    must change in step with the server's state.
    """

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.mutex = threading.Lock()
        self.held: dict[int, tuple[str, str]] = {}  # key -> (owner token, lock name)
        self.records_names = True  # False once the names table turned out to be missing
        self._connection: psycopg.Connection[Any] | None = None
        self._cursor: psycopg.Cursor[Any] | None = None

    def run(self, name: str, params: dict[str, Any], *, retry: bool) -> Any:
        """Run the statement ``name`` and return the first column of its one row.

        A connection found dead (server restarted, backend terminated) is replaced; with
        ``retry`` the statement then runs once more on the new one. Only statements that
        mean the same on a fresh session may retry: an unlock may not, its lock went with
        the old session.

        Raises:
            LockBackendError: the database cannot be reached or refused the statement.
        """
        try:
            return self._execute(name, params)
        except psycopg.Error as exc:
            if not (self._drop_if_dead() and retry):
                raise self._error(exc) from exc
        try:
            return self._execute(name, params)
        except psycopg.Error as exc:
            self._drop_if_dead()
            raise self._error(exc) from exc

    def holds(self, key: int, lock_name: str) -> bool:
        """Ask the server whether this session still holds ``key``; forget it if not.

        False when the session was lost (the connection is dropped and the loss logged) or
        the server says the key is not held here.

        Raises:
            LockBackendError: the connection is alive but the statement failed.
        """
        classid, objid = advisory_lock_ids(lock_name)
        try:
            held = bool(
                self.run("advisory_held_here", {"classid": classid, "objid": objid}, retry=False)
            )
        except LockBackendError:
            if self._connection is None:  # _drop_if_dead found it dead: the locks are gone
                return False
            raise
        if not held:
            lost = self.held.pop(key, None)
            if lost is not None:
                logger.warning(
                    "agentcore_task advisory lock %r is no longer held by its session on "
                    "database %r; another run may have started",
                    lost[1],
                    self.alias,
                )
        return held

    def close(self) -> None:
        """Close the connection: the server frees every lock it held."""
        if self._connection is not None:
            self._connection.close()
        self._connection = self._cursor = None
        self.held.clear()

    def _execute(self, name: str, params: dict[str, Any]) -> Any:
        cursor = self._cursor if self._cursor is not None else self._connect()
        cursor.execute(query(name), params)
        row = cursor.fetchone()
        return None if row is None else row[0]

    def rows(self, name: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement ``name`` and return all its rows (a fresh session if need be).

        Raises:
            LockBackendError: the database cannot be reached or refused the statement.
        """
        for attempt in (1, 2):
            try:
                cursor = self._cursor if self._cursor is not None else self._connect()
                cursor.execute(query(name), params)
                return [tuple(row) for row in cursor.fetchall()]
            except psycopg.Error as exc:
                if not self._drop_if_dead() or attempt == 2:
                    raise self._error(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def run_named(self, named: str, plain: str, params: dict[str, Any], *, retry: bool) -> Any:
        """Run ``named``, the variant of ``plain`` that also keeps the names table.

        A lock database without the table (the migrations were not run there) gets the
        plain statement instead, from then on, after one WARNING: the names only serve the
        listing, the lock must work regardless. A missing table fails the statement before
        it runs, so the plain one never takes or drops a lock twice.
        """
        if self.records_names and conf.advisory_lock_names():
            try:
                return self.run(named, params, retry=retry)
            except LockBackendError as exc:
                if not isinstance(exc.__cause__, psycopg.errors.UndefinedTable):
                    raise
                self.records_names = False
                logger.warning(
                    "agentcore_task cannot record advisory lock names on database %r (%s); "
                    "its locks work but are not listed by name",
                    self.alias,
                    exc,
                )
        return self.run(plain, {"key": params["key"]}, retry=retry)

    def note(self, name: str, params: dict[str, Any]) -> None:
        """Run a bookkeeping statement (the names table); a failure is logged, not raised.

        The names only serve the listing of held locks: a lock database without the
        table (migrations not run there) must still lock.
        """
        try:
            self.run(name, params, retry=False)
        except LockBackendError as exc:
            logger.warning("agentcore_task could not record an advisory lock name: %s", exc)

    def _error(self, exc: psycopg.Error) -> LockBackendError:
        return LockBackendError(f"database {self.alias!r} failed: {_first_line(exc)}")

    def _connect(self) -> psycopg.Cursor[Any]:
        database = connections[self.alias]
        params = database.get_connection_params()
        params.pop("cursor_factory", None)  # psycopg's own cursor, which binds on the server
        params.setdefault("application_name", APPLICATION_NAME)
        for name, value in KEEPALIVE_DEFAULTS.items():
            params.setdefault(name, value)
        if "prepare_threshold" not in database.settings_dict["OPTIONS"]:
            # Django turns prepared statements off for transaction-pooling PgBouncers, which
            # session locks cannot use anyway; prepared, a lock round trip takes a third less time.
            params.pop("prepare_threshold", None)
        self._connection = psycopg.connect(**params, autocommit=True)
        self._cursor = self._connection.cursor()
        return self._cursor

    def _drop_if_dead(self) -> bool:
        """Forget a connection that died; True when there was one (a session was lost)."""
        if self._connection is None or not self._connection.closed:
            return False
        lost = sorted(name for _, name in self.held.values())
        self.close()
        if lost:
            logger.warning(
                "agentcore_task lost its advisory lock session on database %r; the locks it "
                "held are free now and another run may have taken them: %s",
                self.alias,
                ", ".join(repr(name) for name in lost),
            )
        return True


_sessions: dict[str, _Session] = {}
_sessions_mutex = threading.Lock()
# Sessions a forked child inherited. They belong to the parent: the child must neither use
# nor close them (closing sends Terminate on the shared socket, which would end the parent's
# session and free its locks). They stay referenced here so nothing ever closes them.
_inherited: list[_Session] = []


def _after_fork_in_child() -> None:
    global _sessions, _sessions_mutex
    _inherited.extend(_sessions.values())
    _sessions = {}
    _sessions_mutex = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_after_fork_in_child)


def _session() -> _Session:
    alias = conf.lock_database_alias()
    session = _sessions.get(alias)
    if session is None:
        with _sessions_mutex:
            session = _sessions.setdefault(alias, _Session(alias))
    return session


def close_sessions() -> None:
    """Close this process's lock connections, freeing every advisory lock it holds.

    For shutdown hooks and tests; the next lock call connects again.
    """
    with _sessions_mutex:
        sessions = list(_sessions.values())
    for session in sessions:
        with session.mutex:
            session.close()


def _owned_here(session: Any, key: int, owner: str) -> bool:
    """Tell whether this process took ``key`` for ``owner`` (the caller holds the mutex)."""
    held = session.held.get(key)
    return held is not None and held[0] == owner


class AdvisoryLockBackend:
    """Locks as PostgreSQL session-level advisory locks on a dedicated connection."""

    name = "advisory"

    def acquire(self, lock_name: str, timeout: int, owner: str, holder: str | None = None) -> bool:
        """Take the lock unless this process or another session holds it.

        ``timeout`` is ignored: the lock lasts until released or until its session ends.
        The name is recorded beside its key (``agentcore_task_lock_name``) for the listing.
        """
        key = advisory_lock_key(lock_name)
        session = _session()
        with session.mutex:
            if key in session.held and session.holds(key, lock_name):
                return False
            record = {"name": _storable(lock_name), "key": key, "owner": owner, "holder": holder}
            taken = bool(
                session.run_named(
                    "advisory_try_lock_named", "advisory_try_lock", record, retry=True
                )
            )
            if taken:
                session.held[key] = (owner, lock_name)
            return taken

    def release(self, lock_name: str, owner: str) -> bool:
        """Unlock if ``owner`` holds the lock on this process's session.

        False when it does not, including when the session was lost meanwhile: the lock was
        freed by the server then (logged as a lost session, not as a failed release).
        """
        key = advisory_lock_key(lock_name)
        session = _session()
        with session.mutex:
            return _owned_here(session, key, owner) and self._unlock(session, key)

    def is_held(self, lock_name: str, owner: str) -> bool:
        """Tell whether ``owner`` holds the lock, asking the session that took it."""
        key = advisory_lock_key(lock_name)
        session = _session()
        with session.mutex:
            return _owned_here(session, key, owner) and session.holds(key, lock_name)

    def force_release(self, lock_name: str) -> str | None:
        """Unlock it here if this process holds it, else terminate the session holding it."""
        key = advisory_lock_key(lock_name)
        classid, objid = advisory_lock_ids(lock_name)
        session = _session()
        with session.mutex:
            held = session.held.get(key)
            if held is not None:
                self._unlock(session, key)
                return f"unlocked it on this process's session, where owner {held[0]!r} held it"
            params = {"classid": classid, "objid": objid, "wait_ms": TERMINATE_WAIT_MS}
            pids = session.run("advisory_terminate_holders", params, retry=True)
            session.note("advisory_forget_stale_names", {"grace": STALE_NAME_GRACE})
        if not pids:
            return None
        return (
            f"terminated PostgreSQL backend pid(s) {', '.join(map(str, pids))}, which held it"
            " (that frees every advisory lock those sessions held)"
        )

    def is_locked(self, lock_name: str) -> bool:
        """Tell from ``pg_locks`` whether any session of the lock database holds the lock."""
        classid, objid = advisory_lock_ids(lock_name)
        session = _session()
        with session.mutex:
            params = {"classid": classid, "objid": objid}
            return bool(session.run("advisory_is_locked", params, retry=True))

    def held_locks(self) -> list[HeldLock]:
        """List the advisory locks any session of the lock database holds, by name.

        Only locks taken through this backend have a recorded name; records left by holders
        that died are deleted on the way.
        """
        session = _session()
        with session.mutex:
            session.note("advisory_forget_stale_names", {"grace": STALE_NAME_GRACE})
            rows = session.rows("advisory_held_names", {})
        return [
            HeldLock(
                name=name,
                backend=self.name,
                holder=holder,
                owner=owner,
                since=since,
                ttl=None,
                pid=pid,
            )
            for name, holder, owner, since, pid in rows
        ]

    @staticmethod
    def _unlock(session: _Session, key: int) -> bool:
        try:
            unlocked = bool(session.run("advisory_unlock", {"key": key}, retry=False))
        except LockBackendError:
            if session._connection is None:  # the session was lost: so was the lock
                return False
            raise
        session.held.pop(key, None)
        return unlocked
