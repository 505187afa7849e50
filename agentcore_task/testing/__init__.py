"""Helpers that let the test suite and the demo find a PostgreSQL and a Redis on any machine."""
