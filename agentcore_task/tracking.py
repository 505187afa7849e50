"""Say who starts the tasks that automatic tracking records: ``with tracking_user(user):``.

Automatic tracking (``AGENTCORE_TASK_AUTO_TRACK``) records a row when a task is published.
The publishing code knows the user; the signal handler does not. Wrap the publishing call::

    from agentcore_task.tracking import tracking_user

    with tracking_user(request.user):
        import_feed.delay(feed_id=7)

The user is kept in a :mod:`contextvars` variable, so it follows the code that set it and
nothing else: concurrent requests in threads or asyncio tasks each see their own user, an
``asyncio`` task created inside the block inherits it, and a thread started inside it does not
(Python starts threads with an empty context; use ``contextvars.copy_context().run``).
The user id travels to the worker in a message header, so ``created_by`` is filled there too,
and tasks published from inside a tracked task inherit it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from agentcore_task.services import arguments

__all__ = ["current_tracking_user_id", "tracking_user"]

_user_id: ContextVar[int | None] = ContextVar("agentcore_task_tracking_user", default=None)


@contextmanager
def tracking_user(user: object) -> Iterator[None]:
    """Record ``user`` as the creator of tasks tracked automatically inside the block.

    Args:
        user: a user, a user id, or None (an anonymous user counts as None).

    Raises:
        TypeError: ``user`` is none of those, at the ``with`` line.
    """
    token = _user_id.set(arguments.user_id(user))
    try:
        yield
    finally:
        _user_id.reset(token)


def current_tracking_user_id() -> int | None:
    """Return the id of the user set by the innermost ``tracking_user`` block, or None."""
    return _user_id.get()
