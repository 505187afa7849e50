"""The test settings, for the uvicorn process of the live tests: short heartbeats and queues.

A queue of a few events lets a test make a client fall behind with a handful of changes.
"""

from tests.settings import *  # noqa: F403

AGENTCORE_TASK_LIVE_HEARTBEAT_SECONDS = 1
AGENTCORE_TASK_LIVE_POLL_SECONDS = 0.2

ROOT_URLCONF = "tests.live.urls"
