"""The demo project: how a Django + Celery project wires agentcore_task."""
