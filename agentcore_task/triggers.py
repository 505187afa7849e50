"""The status rules, enforced by PostgreSQL for every writer.

Celery signals, the REST sync, the periodic jobs and a DBA typing ``UPDATE`` in psql all go
through the same BEFORE trigger, so the rules cannot be bypassed by a code path that forgot
them. One trigger function does everything: on the progress-update hot path each extra
trigger would cost a PL/pgSQL call per row, and the common case (a metadata merge that
changes neither status nor times) takes no branch that does work.

Rules:

* ``started_at`` and ``finished_at`` are the database's own stamps, never a writer's: a value
  an INSERT or UPDATE supplies is replaced. ``started_at`` is stamped the first time the row
  is STARTED (or RETRY, which implies it ran); ``finished_at`` the first time it becomes
  terminal (SUCCESS, FAILURE, REVOKED). Neither changes after that, and a PENDING row has
  neither, so ``finished_at >= started_at`` always holds and a duration is never negative.
* A terminal row never goes back to PENDING/STARTED/RETRY: such an update keeps the terminal
  status (late or out-of-order events are harmless) while the rest of the update, a metadata
  merge for instance, still applies.
* The first terminal status wins. A terminal row does not change to another terminal status
  (a Celery sync that says SUCCESS cannot overwrite the FAILURE a task recorded, nor can a
  late success undo a revoke), and the refused write's ``result``, ``error`` and
  ``traceback`` are dropped with it, so the row never contradicts itself.
* The one exception is a FAILURE written by the timeout job, which the row remembers in
  ``timed_out``. The real outcome replaces it: another terminal status, or a FAILURE whose
  write clears ``timed_out`` (the library's status updates do) or brings its own ``error``.
  Then ``timed_out`` is false, the timeout's ``error``/``traceback`` are cleared unless the
  write supplies new ones, and ``finished_at`` is stamped again: the run ended now, not when
  it was marked. A late STARTED cannot reopen such a row, but stamps its missing
  ``started_at`` (a task marked "never started" that starts after all).
* A row that becomes SUCCESS keeps no ``error`` or ``traceback`` from before, unless the same
  write supplies new ones. ``timed_out`` is true only on a FAILURE.
* ``updated_at`` is the statement's time on every insert and update: the row's heartbeat.
* Each status the row takes (its first on insert, then every change the rules let through)
  is appended to ``status_history`` as ``{"status", "at", "worker"}`` (``worker`` when the
  row knows it), keeping the newest 20. A metadata merge leaves through the early return
  before this step, so progress updates pay nothing for it.

A DBA repairing or importing rows by hand can lift every rule for one transaction with
``SET LOCAL agentcore_task.override_rules = 'on'``: the row is then stored as written, its
times (``updated_at`` included) too.

Times come from ``statement_timestamp()``, so a long transaction that updates a row late
stamps the time of that statement rather than the time the transaction began.
"""

from __future__ import annotations

import pgtrigger

from agentcore_task.trigger_sql import Trigger

STATUS_RULES_FUNCTION = """
    IF current_setting('agentcore_task.override_rules', true) = 'on' THEN
        RETURN NEW;
    END IF;

    requested := NEW.status;
    IF TG_OP = 'UPDATE' AND OLD.status IN ('SUCCESS', 'FAILURE', 'REVOKED')
       AND NEW.status IS DISTINCT FROM OLD.status
       AND (NEW.status NOT IN ('SUCCESS', 'FAILURE', 'REVOKED') OR NOT OLD.timed_out) THEN
        IF NEW.status IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN
            NEW.result := OLD.result;
            NEW.error := OLD.error;
            NEW.traceback := OLD.traceback;
        END IF;
        NEW.status := OLD.status;
        NEW.timed_out := OLD.timed_out;
    END IF;

    IF NEW.status <> 'FAILURE' THEN
        NEW.timed_out := false;
    ELSIF TG_OP = 'UPDATE' AND OLD.timed_out AND NEW.timed_out
          AND NEW.error IS DISTINCT FROM OLD.error THEN
        NEW.timed_out := false;
    END IF;
    replaced_timeout := TG_OP = 'UPDATE' AND OLD.timed_out AND NOT NEW.timed_out;

    IF TG_OP = 'UPDATE' AND requested = OLD.status AND NOT replaced_timeout
       AND NEW.started_at IS NOT DISTINCT FROM OLD.started_at
       AND NEW.finished_at IS NOT DISTINCT FROM OLD.finished_at
       AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := statement_timestamp();
        RETURN NEW;
    END IF;

    IF TG_OP = 'UPDATE' AND NEW.status IS DISTINCT FROM OLD.status
       AND NEW.status = 'SUCCESS' OR replaced_timeout THEN
        IF NEW.error IS NOT DISTINCT FROM OLD.error THEN
            NEW.error := NULL;
        END IF;
        IF NEW.traceback IS NOT DISTINCT FROM OLD.traceback THEN
            NEW.traceback := NULL;
        END IF;
    END IF;

    IF TG_OP = 'UPDATE' AND OLD.started_at IS NOT NULL THEN
        NEW.started_at := OLD.started_at;
    ELSIF requested IN ('STARTED', 'RETRY') THEN
        NEW.started_at := statement_timestamp();
    ELSE
        NEW.started_at := NULL;
    END IF;

    IF NEW.status IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN
        IF TG_OP = 'UPDATE' AND OLD.finished_at IS NOT NULL AND NOT replaced_timeout THEN
            NEW.finished_at := OLD.finished_at;
        ELSE
            NEW.finished_at := statement_timestamp();
        END IF;
    ELSE
        NEW.finished_at := NULL;
    END IF;

{history}
    NEW.updated_at := statement_timestamp();
    RETURN NEW;
"""

STATUS_HISTORY_LIMIT = 20
"""Entries ``status_history`` keeps; the oldest are dropped first."""

# Only reached by writes that are not a plain metadata merge (those returned above), and it
# does work only when the status really changed: an INSERT, or an UPDATE whose status
# survived the rules above. A refused transition (a late STARTED on a finished row) is not
# history. ``worker`` is the row's worker column as this write leaves it (the start write
# of auto-tracking sets it), so an entry names the worker when the row knows one.
STATUS_HISTORY_STEP = f"""
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        history := NEW.status_history;
        IF history IS NULL OR jsonb_typeof(history) <> 'array' THEN
            history := '[]'::jsonb;
        END IF;
        WHILE jsonb_array_length(history) >= {STATUS_HISTORY_LIMIT} LOOP
            history := history - 0;
        END LOOP;
        NEW.status_history := history || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
            'status', NEW.status, 'at', statement_timestamp(), 'worker', NEW.worker
        )));
    END IF;
"""

status_rules = Trigger(
    name="agentcore_task_status_rules",
    when=pgtrigger.Before,
    operation=pgtrigger.Insert | pgtrigger.Update,
    func=STATUS_RULES_FUNCTION.replace("{history}", STATUS_HISTORY_STEP),
    declare=[("requested", "varchar(20)"), ("replaced_timeout", "boolean"), ("history", "jsonb")],
)
