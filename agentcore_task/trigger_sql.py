"""django-pgtrigger triggers whose ``pgtrigger.ignore`` check opens no subtransaction.

Every function django-pgtrigger installs starts by calling its ``_pgtrigger_should_ignore``,
which reads the ``pgtrigger.ignore`` setting inside a PL/pgSQL ``EXCEPTION`` block. Such a
block is a subtransaction, and in a session that never set ``pgtrigger.ignore`` the read
raises, so the subtransaction is rolled back, once per row. PostgreSQL rolls a
subtransaction back by walking every deferred trigger event the transaction has queued, and
Django creates foreign keys ``DEFERRABLE INITIALLY DEFERRED``, so each row queues one. A
transaction that writes N rows of ``agentcore_task_execution`` therefore cost O(N²): 20,000
inserts took 2.7 s in one statement and 3.2 s one by one (0.42 s and 0.86 s with the check
below), and a load of 1,000,000 rows did not end in 40 minutes (bench/trigger_sql.py).

:class:`Trigger` compiles to :class:`TriggerSqlV1`, the same installation as
django-pgtrigger's except the check: ``current_setting('pgtrigger.ignore', true)`` (no error
when unset) compared in one plain expression, so ``pgtrigger.ignore(...)`` keeps working and
nothing is rolled back. Migrations name ``TriggerSqlV1`` by path; a later change of the
template is a new class, so that old migrations keep the SQL they installed.
"""

from __future__ import annotations

from typing import Any

import pgtrigger
from pgtrigger import compiler

_TEMPLATE = """
            CREATE OR REPLACE FUNCTION {pgid}()
            RETURNS TRIGGER AS $$
                {declare}
                BEGIN
                    IF TG_NAME = ANY(COALESCE(
                        NULLIF(current_setting('pgtrigger.ignore', true), ''), '{{}}'
                    )::text[]) THEN
                        IF (TG_OP = 'DELETE') THEN
                            RETURN OLD;
                        ELSE
                            RETURN NEW;
                        END IF;
                    END IF;
                    {func}
                END;
            $$ LANGUAGE plpgsql;

            DROP TRIGGER IF EXISTS {pgid} ON {table};
            CREATE {constraint} TRIGGER {pgid}
                {when} {operation} ON {table}
                {timing}
                {referencing}
                FOR EACH {level} {condition}
                EXECUTE PROCEDURE {execute};

            COMMENT ON TRIGGER {pgid} ON {table} IS '{hash}';
        """


class TriggerSqlV1(compiler.UpsertTriggerSql):
    """Version 1 of our installation SQL (never edit it: migrations refer to it)."""

    def get_template(self) -> str:
        return _TEMPLATE


class Trigger(pgtrigger.Trigger):
    """A ``pgtrigger.Trigger`` installed with :class:`TriggerSqlV1`."""

    def compile(self, model: Any) -> compiler.Trigger:
        compiled = super().compile(model)
        arguments = dict(compiled.sql.kwargs)
        return compiler.Trigger(name=compiled.name, sql=TriggerSqlV1(**arguments))
