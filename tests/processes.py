"""Run test code in separate processes, each with its own PostgreSQL connection.

Concurrency claims are only worth something with several real clients. Children are spawned
(not forked, so no connection is shared), set Django up against the test database the parent
uses, and report back through the return value.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from typing import Any


def _setup_child(database_name: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"]["NAME"] = database_name
    from django.db import connections

    connections["default"].settings_dict["NAME"] = database_name


def _child(payload: tuple[Callable[..., Any], tuple[Any, ...]]) -> Any:
    function, args = payload
    try:
        return function(*args)
    finally:
        from django.db import connections

        connections.close_all()


def run_in_processes(
    function: Callable[..., Any], argument_sets: Iterable[tuple[Any, ...]]
) -> list[Any]:
    """Call ``function(*args)`` once per argument set, each in its own process, all at once."""
    from django.db import connection

    database_name = connection.settings_dict["NAME"]
    payloads = [(function, tuple(args)) for args in argument_sets]
    context = multiprocessing.get_context("spawn")
    # Django is set up by the initializer, before the payload is unpickled: unpickling imports
    # the test module, which imports models.
    with context.Pool(len(payloads), _setup_child, (database_name,)) as pool:
        return pool.map(_child, payloads)
