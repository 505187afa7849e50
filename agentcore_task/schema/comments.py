"""``COMMENT ON COLUMN`` for every column of our tables, from the fields' ``help_text``.

The help text is the one source: the admin shows it, the OpenAPI schema shows it, and this
operation writes it into the catalog, where ``\\d+`` and every SQL client show it. Table
comments come from ``Meta.db_table_comment``, which Django applies itself.

Append ``ApplyComments()`` to the last migration of a change that adds or rewords a field:
it reads the historical model state, so it writes the text as of that migration.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

__all__ = ["ApplyComments", "column_comments"]


def column_comments(model: Any) -> dict[str, str | None]:
    """Return ``{column: comment}`` for the model's concrete columns (None: no help text)."""
    return {
        field.column: (str(field.help_text) or None)
        for field in model._meta.local_concrete_fields
        if field.column
    }


class ApplyComments(migrations.operations.base.Operation):
    """Set every column comment of the app's models (or of ``models``) to its help text.

    A field without a help text gets no comment (the catalog test then names it). Reversing
    leaves the comments as they are: an operation only sees the state between its neighbours,
    not the one before its migration, and a comment is documentation, never behaviour (the
    next forward run writes them again).
    """

    reversible = True
    reduces_to_sql = True

    def __init__(self, models: list[str] | None = None) -> None:
        self.models = models

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs = {"models": self.models} if self.models is not None else {}
        return (self.__class__.__name__, [], kwargs)

    def state_forwards(self, app_label: str, state: Any) -> None:
        """Comments live only in the database."""

    def _apply(self, app_label: str, schema_editor: Any, state: Any) -> None:
        for model in state.apps.get_app_config(app_label).get_models():
            if self.models is not None and model._meta.model_name not in self.models:
                continue
            if not self.allow_migrate_model(schema_editor.connection.alias, model):
                continue
            table = schema_editor.quote_name(model._meta.db_table)
            for column, comment in column_comments(model).items():
                schema_editor.execute(
                    f"COMMENT ON COLUMN {table}.{schema_editor.quote_name(column)} IS %s",
                    [comment],
                )

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._apply(app_label, schema_editor, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        """Comments stay (see the class docstring)."""

    def describe(self) -> str:
        return "Set the column comments from the fields' help texts"

    @property
    def migration_name_fragment(self) -> str:
        return "column_comments"
