"""Run the demo: a whole task-tracking stack in one process.

    python -m demo [--for SECONDS] [--port PORT]      (or: make demo ARGS="...")

1. Finds its servers: ``DATABASE_URL`` / ``REDIS_URL`` when set; else PostgreSQL on
   127.0.0.1:5432 and Redis on 127.0.0.1:6379 when they answer; else (and whenever
   ``AGENTCORE_EMBEDDED=1``) an embedded PostgreSQL from PyPI, deleted when the demo ends, and
   no Redis: the Celery broker and results then stay in memory.
2. Migrates and creates the user ``demo`` / ``demo`` (demo/setup.py).
3. Runs a Celery worker in this process (a thread pool) and keeps sending it the sample tasks
   of demo/tasks.py.
4. Serves the project (API, live streams, OpenAPI schema, Swagger UI, admin) over ASGI
   (uvicorn) on http://127.0.0.1:PORT/.
5. Shows the running executions, read back from the table as they change, until Ctrl-C,
   SIGTERM or ``--for`` seconds; then stops everything it started.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

HOST = "127.0.0.1"
ROUND_SECONDS = 8.0
"""A new round of sample tasks this often."""
WORKER_THREADS = 8
"""Enough for a whole round at once, so that the duplicate sync really overlaps the first."""

logger = logging.getLogger("demo")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--for", dest="seconds", type=float, default=0, metavar="SECONDS",
        help="stop by itself after SECONDS (default: run until Ctrl-C)",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

    _interrupt_on(signal.SIGTERM)
    try:
        server = _bind(options.port)
    except OSError as exc:
        print(f"demo: cannot listen on {HOST}:{options.port} ({exc}); pick another --port")
        return 2
    try:
        with server:
            run(server, options.seconds)
    except KeyboardInterrupt:
        print("demo: interrupted during start-up")
        return 130
    return 0


def run(server: socket.socket, seconds: float) -> None:
    """Start everything, show progress until told to stop, stop everything."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    databases = _find_servers(console)

    import django

    django.setup()
    _configure_logging(console)

    from demo import setup as demo_setup
    from demo import tasks
    from demo.celery import app
    from demo.display import ProgressDisplay

    user = demo_setup.setup()
    _revoke_unfinished("left over from an earlier demo run")
    if os.environ.get("REDIS_URL"):
        app.control.purge()  # messages an earlier, killed run left in the demo's queue

    from demo.asgi import application

    base = f"http://{HOST}:{server.getsockname()[1]}"
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        stack.enter_context(_in_process_worker(app))
        stack.callback(tasks.stopping.set)  # ends the sample tasks first (stacks unwind LIFO)
        stack.enter_context(_serving(server, application))
        _banner(console, base, databases, seconds)
        stack.enter_context(_sending_samples(tasks, user, stop))

        display = ProgressDisplay(console)
        display.start(_database_now())
        stack.callback(display.stop)
        # From here on Ctrl-C and SIGTERM only ask the loop to end, so that they never cut a
        # database statement (or the clean-up) short.
        _stop_on_signals(stop, console)
        deadline = time.monotonic() + seconds if seconds else None
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            display.poll()  # waits for the doorbell or the poll interval
        stop.set()
        console.print("stopping…")
        stack.close()
        _revoke_unfinished("stopped with the demo")
        display.poll()
    from django.db import connections

    connections.close_all()
    console.print("demo stopped: worker, web server and database connections closed.")


# --------------------------------------------------------------------------- servers


def _find_servers(console: Any) -> dict[str, str]:
    """Choose PostgreSQL and Redis (see the module docstring); return what to print."""
    from devservers import (
        embedded_forced,
        ensure_database,
        resolve_database_url,
    )

    if os.environ.get("DATABASE_URL"):
        database = "DATABASE_URL"
        with contextlib.suppress(Exception):  # no right to create it: migrate will say so
            ensure_database(os.environ["DATABASE_URL"])
    else:
        with console.status("Looking for PostgreSQL (or starting an embedded one)…"):
            url = resolve_database_url("agentcore_task_demo")
        if urlsplit(url).port == 5432:
            database = "PostgreSQL on 127.0.0.1:5432, database agentcore_task_demo"
        else:
            database = "embedded PostgreSQL (deleted when the demo stops)"
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url and not embedded_forced() and _redis_answers("redis://127.0.0.1:6379/0"):
        redis_url = "redis://127.0.0.1:6379/0"
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
        broker = f"Redis {_without_password(redis_url)}, queue agentcore-demo"
    else:
        os.environ.pop("REDIS_URL", None)
        broker = "memory:// (no Redis: broker and results stay in this process)"
    return {"database": database, "broker": broker}


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def _database_now() -> dt.datetime:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        now: dt.datetime = cursor.fetchone()[0]
    return now


def _revoke_unfinished(why: str) -> None:
    """Mark REVOKED the demo's executions still unfinished: their worker is gone."""
    from agentcore_task import TaskStatus, TaskTracker
    from agentcore_task.models import TaskExecution

    unfinished = TaskExecution.objects.filter(
        task_name__startswith="demo.tasks.",
        status__in=[TaskStatus.PENDING, TaskStatus.STARTED, TaskStatus.RETRY],
    ).values_list("task_id", flat=True)
    for task_id in unfinished:
        TaskTracker.update_task_status(
            task_id, TaskStatus.REVOKED, metadata={"progress_message": why}
        )


# --------------------------------------------------------------------------- Celery worker


@contextlib.contextmanager
def _in_process_worker(app: Any) -> Iterator[None]:
    """Run a Celery worker (a pool of threads) inside this process.

    With the ``memory://`` broker that is the only worker that can see the tasks; with Redis it
    keeps the demo to one process. Leaving the block is a warm shutdown: it waits for running
    tasks, which the demo ends at once by setting ``demo.tasks.stopping`` first.
    """
    from celery.contrib.testing.worker import start_worker

    app.conf.worker_hijack_root_logger = False  # keep the demo's own logging
    with start_worker(
        app,
        pool="threads",
        concurrency=WORKER_THREADS,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=30,
    ):
        yield


@contextlib.contextmanager
def _sending_samples(tasks: Any, user: Any, stop: threading.Event) -> Iterator[None]:
    """Send a round of sample tasks now and every ROUND_SECONDS, from a thread."""

    def loop() -> None:
        from django.db import connection

        round_number = 0
        try:
            while not stop.is_set():
                try:
                    # The long report every third round: about one running at a time.
                    tasks.start_samples(user, round_number, long_one=round_number % 3 == 0)
                except Exception:
                    logger.exception("could not send the sample tasks")
                round_number += 1
                stop.wait(ROUND_SECONDS)
        finally:
            connection.close()

    thread = threading.Thread(target=loop, name="demo-samples", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# --------------------------------------------------------------------------- web server


def _bind(port: int) -> socket.socket:
    """Listen on HOST:port now, so that a busy port fails before anything starts."""
    return socket.create_server((HOST, port), backlog=256)


@contextlib.contextmanager
def _serving(sock: socket.socket, application: Any) -> Iterator[None]:
    """Serve ``application`` with uvicorn (ASGI: the live streams push) in a thread."""
    import uvicorn

    config = uvicorn.Config(application, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="demo-http", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# --------------------------------------------------------------------------- terminal


def _banner(console: Any, base: str, servers: dict[str, str], seconds: float) -> None:
    from rich.markup import escape

    from demo.setup import DEMO_PASSWORD, DEMO_USERNAME

    lines = [
        "[bold]agentcore-task demo[/bold]",
        f"  database  {escape(servers['database'])}",
        f"  broker    {escape(servers['broker'])}; worker: {WORKER_THREADS} threads here",
        f"  API       {base}/api/v1/tasks/executions/",
        f"            curl -u {DEMO_USERNAME}:{DEMO_PASSWORD} {base}/api/v1/tasks/executions/",
        f"  Swagger   {base}/api/docs/   (schema: {base}/api/schema/)",
        f"  dashboard {base}/tasks/",
        f"  admin     {base}/admin/",
        f"  login     {DEMO_USERNAME} / {DEMO_PASSWORD}",
        f"Sending sample tasks every {ROUND_SECONDS:.0f} s; "
        + (f"stopping after {seconds:g} s." if seconds else "Ctrl-C to stop."),
    ]
    for line in lines:
        console.print(line)


def _configure_logging(console: Any) -> None:
    handler: logging.Handler
    if console.is_terminal:
        from rich.logging import RichHandler

        handler = RichHandler(console=console, show_path=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    # The sample failure is expected every round; the display shows it from the table.
    logging.getLogger("celery.app.trace").setLevel(logging.CRITICAL)
    # 401/404 answers to curl experiments are not the demo's problem.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    # The memory:// broker has no host name, which kombu warns about.
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _interrupt_on(signum: int) -> None:
    """Make ``signum`` (SIGTERM) stop the demo the way Ctrl-C does."""
    signal.signal(signum, _raise_interrupt)


def _stop_on_signals(stop: threading.Event, console: Any) -> None:
    def request_stop(signum: int, frame: Any) -> None:
        if stop.is_set():
            console.print("still stopping…")
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)


if __name__ == "__main__":
    sys.exit(main())
