"""Create the DBA views of ``sql/views.sql`` (``CreateView``), each with its COMMENT.

Views are versioned by name (``…_v1``): a released view's SQL never changes; a changed view
ships as ``…_v2`` beside it, so a dashboard built on ``…_v1`` keeps working until it moves.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

from agentcore_task.sql import query

__all__ = ["CreateView"]


class CreateView(migrations.operations.base.Operation):
    """``CREATE VIEW name AS <the statement called name>`` and ``COMMENT ON VIEW``."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, name: str, comment: str) -> None:
        self.name = name
        self.comment = comment

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__name__, [], {"name": self.name, "comment": self.comment})

    def state_forwards(self, app_label: str, state: Any) -> None:
        """Views are not models: nothing in the migration state."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        view = schema_editor.quote_name(self.name)
        schema_editor.execute(f"CREATE VIEW {view} AS\n{query(self.name)}", None)
        schema_editor.execute(f"COMMENT ON VIEW {view} IS %s", [self.comment])

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        schema_editor.execute(f"DROP VIEW IF EXISTS {schema_editor.quote_name(self.name)}")

    def describe(self) -> str:
        return f"Create view {self.name}"

    @property
    def migration_name_fragment(self) -> str:
        return self.name
