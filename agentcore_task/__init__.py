"""agentcore-task: one trustworthy PostgreSQL row per Celery task execution."""

__version__ = "0.1.0"
