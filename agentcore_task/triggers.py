"""The status rules, enforced by PostgreSQL for every writer.

Celery signals, the REST sync, the periodic jobs and a DBA typing ``UPDATE`` in psql all go
through the same BEFORE trigger, so the rules cannot be bypassed by a code path that forgot
them. One trigger function does everything: on the progress-update hot path each extra
trigger would cost a PL/pgSQL call per row.

Rules (DESIGN §1):

* ``started_at`` is stamped the first time the row is STARTED (or RETRY, which implies it ran)
  and never changes after that.
* ``finished_at`` is stamped the first time the row becomes terminal (SUCCESS, FAILURE,
  REVOKED) and never changes after that; a non-terminal row has none.
* A terminal row never goes back to PENDING/STARTED/RETRY: such an update keeps the terminal
  status (late or out-of-order events are harmless) while the rest of the update, a metadata
  merge for instance, still applies. Terminal → terminal is allowed (a row marked FAILURE by
  the timeout job that then really finishes).
* ``updated_at`` is the statement's time on every insert and update: the row's heartbeat.

Times come from ``statement_timestamp()``, so a long transaction that updates a row late
stamps the time of that statement rather than the time the transaction began.
"""

from __future__ import annotations

import pgtrigger

STATUS_RULES_FUNCTION = """
    IF TG_OP = 'UPDATE'
       AND OLD.status IN ('SUCCESS', 'FAILURE', 'REVOKED')
       AND NEW.status NOT IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN
        NEW.status := OLD.status;
    END IF;

    IF TG_OP = 'UPDATE' AND OLD.started_at IS NOT NULL THEN
        NEW.started_at := OLD.started_at;
    ELSIF NEW.started_at IS NULL AND NEW.status IN ('STARTED', 'RETRY') THEN
        NEW.started_at := statement_timestamp();
    END IF;

    IF NEW.status IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN
        IF TG_OP = 'UPDATE' AND OLD.finished_at IS NOT NULL THEN
            NEW.finished_at := OLD.finished_at;
        ELSIF NEW.finished_at IS NULL THEN
            NEW.finished_at := statement_timestamp();
        END IF;
    ELSE
        NEW.finished_at := NULL;
    END IF;

    NEW.updated_at := statement_timestamp();
    RETURN NEW;
"""

status_rules = pgtrigger.Trigger(
    name="agentcore_task_status_rules",
    when=pgtrigger.Before,
    operation=pgtrigger.Insert | pgtrigger.Update,
    func=STATUS_RULES_FUNCTION,
)
