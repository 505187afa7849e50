"""The six execution statuses and the groups the rest of the code asks about."""

from __future__ import annotations

from django.db import models


class TaskStatus(models.TextChoices):
    """Status of one task execution, named as Celery names its states."""

    PENDING = "PENDING", "Pending"
    """Registered (published) but not started by a worker yet."""
    STARTED = "STARTED", "Started"
    """A worker is running it."""
    SUCCESS = "SUCCESS", "Success"
    """Finished without error. Terminal."""
    FAILURE = "FAILURE", "Failure"
    """Finished with an error, or marked failed by the timeout job. Terminal."""
    RETRY = "RETRY", "Retry"
    """Failed once and will be retried by Celery."""
    REVOKED = "REVOKED", "Revoked"
    """Cancelled before or while running. Terminal."""

    @classmethod
    def get_all_statuses(cls) -> list[str]:
        """Return every status value, in declaration order."""
        return [member.value for member in cls]

    @classmethod
    def get_completed_statuses(cls) -> list[str]:
        """Return the terminal statuses: SUCCESS, FAILURE, REVOKED."""
        return [cls.SUCCESS.value, cls.FAILURE.value, cls.REVOKED.value]

    @classmethod
    def get_running_statuses(cls) -> list[str]:
        """Return the statuses of an execution a worker holds: STARTED, RETRY."""
        return [cls.STARTED.value, cls.RETRY.value]

    @classmethod
    def validate(cls, value: object) -> str:
        """Return ``value`` as a status string, or raise before anything reaches SQL.

        Raises:
            TypeError: ``value`` is not a string.
            ValueError: ``value`` is not one of the six statuses.
        """
        if not isinstance(value, str):
            raise TypeError(f"status must be a str or TaskStatus, not {type(value).__name__}")
        if value not in cls.values:
            raise ValueError(f"unknown status {value!r}; expected one of {', '.join(cls.values)}")
        return str(value)
