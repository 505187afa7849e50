"""The app's part of a project's OpenAPI schema generates cleanly.

Projects often run ``manage.py spectacular --fail-on-warn`` in CI; a warning caused by this
app's serializers would fail their build.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command


def test_spectacular_generates_the_schema_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))

    assert "/api/v1/tasks/config/" in target.read_text()


def test_a_warning_would_fail_the_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: a warning during generation makes the command raise."""
    from drf_spectacular.drainage import warn
    from drf_spectacular.generators import SchemaGenerator

    original = SchemaGenerator.get_schema

    def get_schema_with_a_warning(self, *args, **kwargs):
        schema = original(self, *args, **kwargs)  # it clears earlier warnings first
        warn("a warning")
        return schema

    monkeypatch.setattr(SchemaGenerator, "get_schema", get_schema_with_a_warning)
    with pytest.raises(CommandError, match="warnings"):
        call_command("spectacular", "--fail-on-warn", "--file", "/dev/null")
