"""Fixtures of the integration tier."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection


@pytest.fixture
def beat_database(django_db_setup):
    """A database of its own for django_celery_beat's tables; dropped afterwards."""
    settings_dict = connection.settings_dict
    name = f"{settings_dict['NAME']}_beat"
    params = {
        "dbname": "postgres",
        "user": settings_dict["USER"],
        "host": settings_dict["HOST"],
        "port": settings_dict["PORT"] or 5432,
        "autocommit": True,
    }
    if settings_dict.get("PASSWORD"):
        params["password"] = settings_dict["PASSWORD"]
    with psycopg.connect(**params) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(**params) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
