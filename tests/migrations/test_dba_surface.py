"""The DBA surface the migrations build: COMMENTs, views, storage settings.

Every table and column we own carries a COMMENT, the model's own text (one source):
``\\d+ agentcore_task_execution`` shows them; the catalog (``pg_description``) is read here.
A field added without a help text, or a migration that forgets ``ApplyComments()``, fails.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from agentcore_task.schema.comments import ApplyComments, column_comments

pytestmark = pytest.mark.django_db


def _catalog(table: str) -> tuple[str | None, dict[str, str | None]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description(%s::regclass, 'pg_class')", [table])
        (table_comment,) = cursor.fetchone()
        cursor.execute(
            "SELECT attname, col_description(attrelid, attnum) FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [table],
        )
        return table_comment, dict(cursor.fetchall())


OUR_MODELS = list(apps.get_app_config("agentcore_task").get_models())


def test_we_own_at_least_the_execution_and_configuration_tables():
    tables = {model._meta.db_table for model in OUR_MODELS}
    assert {"agentcore_task_execution", "agentcore_task_runtime_config"} <= tables


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda model: model._meta.db_table)
def test_every_column_has_its_help_text_as_comment(model):
    table_comment, columns = _catalog(model._meta.db_table)

    assert table_comment, f"{model._meta.db_table}: set Meta.db_table_comment"
    assert table_comment == model._meta.db_table_comment
    missing = sorted(column for column, comment in columns.items() if not comment)
    assert missing == [], (
        f"{model._meta.db_table}: columns without a COMMENT (give the field a help_text and "
        "end the migration with ApplyComments())"
    )
    assert columns == column_comments(model)


def test_apply_comments_deconstructs_for_the_migration_writer():
    assert ApplyComments().deconstruct() == ("ApplyComments", [], {})
    assert ApplyComments(["taskexecution"]).deconstruct()[2] == {"models": ["taskexecution"]}


VIEWS = {
    "agentcore_task_running_v1",
    "agentcore_task_recent_failures_v1",
    "agentcore_task_daily_counts_v1",
    "agentcore_task_stuck_v1",
}


def test_the_versioned_views_exist_with_comments():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c"
            " WHERE c.relkind = 'v' AND c.relname LIKE 'agentcore_task_%%'"
        )
        views = dict(cursor.fetchall())
    assert set(views) == VIEWS
    assert all(comment.startswith("agentcore-task: ") for comment in views.values())


def test_the_execution_table_has_the_storage_settings_of_docs_dba():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'agentcore_task_execution'")
        (options,) = cursor.fetchone()
    assert "fillfactor=90" in options
    assert "autovacuum_vacuum_scale_factor=0.02" in options
