"""Commit-to-event latency of the live streams: 200 EventSource clients on one uvicorn process.

One uvicorn process (one hub, one listening connection) serves ``executions/{id}/stream/``
to N concurrent clients, all in this process (asyncio + httpx). Each round commits a progress
update (``update_progress``, autocommit) and every client notes when the event carrying that
percent arrives; the latency is arrival minus the moment the UPDATE returned, on this
process's clock. Progress merges ring no doorbell, so this is the hub's poll
(``AGENTCORE_TASK_LIVE_POLL_SECONDS``, 0.5 s by default) plus fan-out and delivery. The
baseline, in the same run, is one client alone.

    python -m bench.live_stream [--clients 200] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid

from bench.common import setup_django

WAVE = 25
"""Clients that connect at the same moment."""


async def _client(url: str, headers: dict[str, str], arrivals: dict[int, list[float]],
                  ready: asyncio.Event, counter: list[int], total: int) -> None:  # fmt: skip
    import httpx

    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(120.0)) as client,
        client.stream("GET", url, headers=headers) as response,
    ):
        data, first = None, True
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and data is not None:
                if first:  # the snapshot: this client is connected
                    first = False
                    counter[0] += 1
                    if counter[0] >= total:
                        ready.set()
                elif data.get("progress_percent") is not None:
                    arrivals.setdefault(data["progress_percent"], []).append(time.monotonic())
                data = None


def _new_row(user: object) -> object:
    from agentcore_task.models import TaskExecution
    from agentcore_task.services.registration import register_task_execution

    task_id = f"bench-live-{uuid.uuid4()}"
    register_task_execution(task_id, "bench.live", "bench", created_by=user)
    return TaskExecution.objects.get(task_id=task_id)


async def measure(base: str, session: str, user: object, clients: int, rounds: int) -> list[float]:
    """Return every client's latency (seconds) over ``rounds`` progress commits of a new row."""
    from asgiref.sync import sync_to_async

    from agentcore_task.services.writes import update_progress

    row = await sync_to_async(_new_row)(user)
    # A session cookie, as a logged-in page's EventSource sends: no password hash per request.
    headers = {"Accept": "text/event-stream", "Cookie": f"sessionid={session}"}
    url = f"{base}/api/v1/tasks/executions/{row.pk}/stream/"  # type: ignore[attr-defined]
    arrivals: dict[int, list[float]] = {}
    counter = [0]
    tasks = []
    # Clients connect in waves: each request holds a database connection for its first
    # snapshot, and 200 at once would pass PostgreSQL's max_connections (100 by default).
    for wave in range(0, clients, WAVE):
        ready = asyncio.Event()
        size = min(clients, wave + WAVE)
        tasks += [
            asyncio.create_task(_client(url, headers, arrivals, ready, counter, size))
            for _ in range(wave, size)
        ]
        await asyncio.wait_for(ready.wait(), timeout=120)  # this wave got its first events
    committed: dict[int, float] = {}
    write = sync_to_async(update_progress, thread_sensitive=True)
    for percent in range(1, rounds + 1):
        await asyncio.sleep(0.6 + random.random())  # any phase of the hub's poll
        await write(row.task_id, percent=percent)  # type: ignore[attr-defined]
        committed[percent] = time.monotonic()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(arrivals.get(rounds, ())) < clients:
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies = []
    for percent, at in committed.items():
        got = arrivals.get(percent, [])
        if len(got) < clients:
            raise RuntimeError(f"round {percent}: {len(got)} of {clients} clients got it")
        latencies.extend(moment - at for moment in got)
    return latencies


def _p(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    options = parser.parse_args()
    url = setup_django()

    from django.contrib.auth import get_user_model
    from django.test import Client

    from tests.live.server import uvicorn_server

    user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:8]}")
    browser = Client()
    browser.force_login(user)
    session = browser.cookies["sessionid"].value
    settings = {"DJANGO_SETTINGS_MODULE": "tests.settings"}  # the default poll and heartbeat
    with uvicorn_server(url, env=settings) as server:
        print(f"one uvicorn process, {options.rounds} progress commits per case")
        print(f"{'clients':>8}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'p95 / 1 client':>16}")
        alone = asyncio.run(measure(server.url, session, user, 1, options.rounds))
        many = asyncio.run(measure(server.url, session, user, options.clients, options.rounds))
        for count, values in ((1, alone), (options.clients, many)):
            p50, p95 = _p(values, 50) * 1000, _p(values, 95) * 1000
            ratio = _p(values, 95) / _p(alone, 95)
            print(f"{count:>8}{p50:>10.0f}{p95:>10.0f}{max(values) * 1000:>10.0f}{ratio:>16.2f}")


if __name__ == "__main__":
    main()
