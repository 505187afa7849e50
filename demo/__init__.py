"""The demo project: how a Django + Celery project wires agentcore_task.

Run it with ``make demo`` (or ``python -m demo``); ``docker compose up`` runs the same project
as a full stack (PostgreSQL, Redis, gunicorn, a Celery worker and Celery beat).
"""

# Load the Celery app whenever Django starts, so that @shared_task binds to it.
from demo.celery import app as celery_app

__all__ = ["celery_app"]
