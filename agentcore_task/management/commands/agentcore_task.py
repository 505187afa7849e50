"""``manage.py agentcore_task``: cleanup, timeout marking, Celery sync and stats for operators.

Each subcommand is a thin shell over the service the periodic jobs and the API use, so the
command does exactly what they do: ``cleanup`` → ``cleanup_old_executions``,
``mark-timeouts`` → ``mark_timed_out_executions``, ``sync`` → ``TaskTracker``'s Celery sync,
``stats`` → ``get_task_stats``, ``revoke``/``retry`` → ``revoke_execution``/``retry_execution``,
``locks``/``release-lock`` → the lock listing and forced release, ``watch`` →
``agentcore_task.management.watch`` (live progress). Defaults come from the runtime
configuration (database override, else settings, else the built-in default).
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agentcore_task import conf
from agentcore_task.exceptions import ExecutionStateError, FilterError, LockBackendError
from agentcore_task.management.tables import render_table
from agentcore_task.management.watch import watch
from agentcore_task.models import TaskExecution
from agentcore_task.runtime_config import effective_retention_days, effective_timeout_minutes
from agentcore_task.services.celery_sync import sync_all_unfinished_executions, sync_execution
from agentcore_task.services.filters import parse_filters
from agentcore_task.services.locks import list_locks, release_lock
from agentcore_task.services.maintenance import (
    cleanup_old_executions,
    count_old_executions,
    count_timed_out_executions,
    mark_timed_out_executions,
)
from agentcore_task.services.operate import retry_execution, revoke_execution
from agentcore_task.services.stats import StatsArgumentError, get_task_stats
from agentcore_task.status import TaskStatus

STATUS_COLUMNS = [status.lower() for status in TaskStatus.values]
STATUS_HEADERS = [status.upper() for status in STATUS_COLUMNS]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, not {value}")
    return value


class Command(BaseCommand):
    help = (
        "Operate the task-execution records: delete old rows (cleanup), mark stuck runs as "
        "failed (mark-timeouts), copy states from Celery (sync), count executions (stats), "
        "revoke or retry executions (revoke, retry) and see or free locks (locks, release-lock). "
        "Run 'manage.py agentcore_task SUBCOMMAND --help' for each one's options."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(
            dest="subcommand", required=True, metavar="SUBCOMMAND", title="subcommands"
        )
        self._add_cleanup(subcommands)
        self._add_mark_timeouts(subcommands)
        self._add_sync(subcommands)
        self._add_stats(subcommands)
        self._add_operate(subcommands)
        self._add_watch(subcommands)

    def handle(self, *args: Any, **options: Any) -> None:
        handlers = {
            "cleanup": self._cleanup,
            "mark-timeouts": self._mark_timeouts,
            "sync": self._sync,
            "stats": self._stats,
            "revoke": self._revoke,
            "retry": self._retry,
            "locks": self._locks,
            "release-lock": self._release_lock,
            "watch": self._watch,
        }
        handlers[options["subcommand"]](options)

    # --- cleanup ------------------------------------------------------------------------------

    def _add_cleanup(self, subcommands: Any) -> None:
        parser = subcommands.add_parser(
            "cleanup",
            help="delete executions older than the retention period",
            description="Delete executions created more than --retention-days ago, in "
            "batches of --batch-size rows, each batch its own transaction (no long locks). "
            "By default only finished rows (SUCCESS, FAILURE, REVOKED) are deleted.",
        )
        parser.add_argument(
            "--retention-days",
            type=_positive_int,
            metavar="DAYS",
            help="age in days (of created_at) beyond which rows go; default: the runtime "
            "configuration (AGENTCORE_TASK_RETENTION_DAYS, 30)",
        )
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument(
            "--only-completed",
            dest="only_completed",
            action="store_const",
            const=True,
            help="delete only finished rows (the default unless "
            "AGENTCORE_TASK_CLEANUP_ONLY_COMPLETED is False)",
        )
        scope.add_argument(
            "--all",
            dest="only_completed",
            action="store_const",
            const=False,
            help="delete unfinished rows (PENDING, STARTED, RETRY) of that age too",
        )
        parser.add_argument(
            "--batch-size",
            type=_positive_int,
            metavar="N",
            help="rows per transaction; default AGENTCORE_TASK_CLEANUP_BATCH_SIZE (5000)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="count what would be deleted and delete nothing",
        )

    def _cleanup(self, options: dict[str, Any]) -> None:
        days = options["retention_days"] or effective_retention_days()
        only_completed = options["only_completed"]
        if only_completed is None:
            only_completed = conf.cleanup_only_completed()
        which = "finished execution(s)" if only_completed else "execution(s) of any status"
        if options["dry_run"]:
            count = count_old_executions(retention_days=days, only_completed=only_completed)
            self.stdout.write(
                f"Dry run: {count} {which} created more than {days} day(s) ago would be "
                "deleted. Nothing was deleted."
            )
            return

        def progress(in_batch: int, so_far: int) -> None:
            self.stdout.write(f"  deleted {in_batch} (total {so_far})")

        self.stdout.write(f"Deleting {which} created more than {days} day(s) ago…")
        result = cleanup_old_executions(
            retention_days=days,
            only_completed=only_completed,
            batch_size=options["batch_size"],
            on_batch=progress,
        )
        self.stdout.write(
            f"Deleted {result['deleted']} execution(s) created before {result['cutoff']} in "
            f"{result['batches']} batch(es) of at most {result['batch_size']}."
        )

    # --- mark-timeouts ----------------------------------------------------------------------

    def _add_mark_timeouts(self, subcommands: Any) -> None:
        parser = subcommands.add_parser(
            "mark-timeouts",
            help="mark executions STARTED for too long as FAILURE",
            description="First sync unfinished executions from Celery (at most "
            "AGENTCORE_TASK_TIMEOUT_SYNC_MAX), then mark executions still STARTED for longer "
            "than --timeout-minutes as FAILURE, with an error saying so.",
        )
        parser.add_argument(
            "--timeout-minutes",
            type=_positive_int,
            metavar="MINUTES",
            help="minutes since started_at; default: the runtime configuration "
            "(AGENTCORE_TASK_TIMEOUT_MINUTES, 10)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="count the executions that would be marked and change nothing (no sync)",
        )
        parser.add_argument(
            "--no-sync",
            action="store_true",
            help="skip the sync from Celery (e.g. when the result backend is down)",
        )

    def _mark_timeouts(self, options: dict[str, Any]) -> None:
        minutes = options["timeout_minutes"] or effective_timeout_minutes()
        if options["dry_run"]:
            count = count_timed_out_executions(timeout_minutes=minutes)
            self.stdout.write(
                f"Dry run: {count} running execution(s) without a sign of life for their timeout "
                f"(default {minutes} minute(s)) would be marked FAILURE (before any sync from "
                "Celery, which may find some finished). Nothing was changed."
            )
            return
        result = mark_timed_out_executions(timeout_minutes=minutes, sync=not options["no_sync"])
        if not options["no_sync"]:
            self.stdout.write(
                f"Synced {result['synced_count']} unfinished execution(s) from Celery; "
                f"{result['updated_count']} changed status."
            )
        self.stdout.write(
            f"Marked {result['marked']} running execution(s) without a sign of life for their "
            f"timeout as FAILURE (default timeout {minutes} minute(s)); "
            f"{result['pending_marked']} execution(s) PENDING for more than "
            f"{result['pending_timeout_minutes']} minute(s) and unknown to Celery as never "
            "started."
        )

    # --- sync ---------------------------------------------------------------------------------

    def _add_sync(self, subcommands: Any) -> None:
        parser = subcommands.add_parser(
            "sync",
            help="copy states from Celery's result backend into the rows",
            description="Copy status, result and error from Celery's result backend into the "
            "rows: the given task ids, or else every unfinished execution (oldest first, at "
            "most --max).",
        )
        parser.add_argument("task_ids", nargs="*", metavar="TASK_ID", help="Celery task ids")
        parser.add_argument(
            "--max",
            type=_positive_int,
            metavar="N",
            help="sync at most N unfinished executions (without TASK_IDs)",
        )

    def _sync(self, options: dict[str, Any]) -> None:
        task_ids: list[str] = options["task_ids"]
        if task_ids and options["max"] is not None:
            raise CommandError("--max limits the sync of unfinished executions: give no TASK_ID")
        if not task_ids:
            summary = sync_all_unfinished_executions(max_sync=options["max"])
            self.stdout.write(
                f"Synced {summary['synced_count']} unfinished execution(s) from Celery; "
                f"{summary['updated_count']} changed status."
            )
            return
        failed = 0
        for task_id in task_ids:
            outcome = sync_execution(task_id)
            if outcome.row is None:
                failed += 1
                self.stdout.write(f"{task_id}: no such execution (or the database failed)")
            elif outcome.error is not None:
                failed += 1
                self.stdout.write(f"{task_id}: {outcome.error}")
            else:
                news = "now" if outcome.changed else "unchanged,"
                self.stdout.write(f"{task_id}: {news} {outcome.row.status}")
        if failed:
            raise CommandError(f"{failed} of {len(task_ids)} execution(s) could not be synced")

    # --- stats --------------------------------------------------------------------------------

    def _add_stats(self, subcommands: Any) -> None:
        parser = subcommands.add_parser(
            "stats",
            help="count executions by status and module",
            description="Count executions by status, per module (and per task name with "
            "--by-task-name), as a text table. One SQL statement.",
        )
        parser.add_argument("--module", help="only this module")
        parser.add_argument(
            "--since",
            metavar="DATE",
            help="only executions created at or after DATE (ISO date or datetime; a bare "
            "date starts at midnight in TIME_ZONE)",
        )
        parser.add_argument("--by-task-name", action="store_true", help="add a table per task name")

    def _stats(self, options: dict[str, Any]) -> None:
        try:
            stats = get_task_stats(module=options["module"], start_date=options["since"])
        except StatsArgumentError as error:
            options_named = {"start_date": "--since", "module": "--module"}
            problems = "; ".join(
                f"{options_named.get(name, name)}: {' '.join(messages)}"
                for name, messages in error.errors.items()
            )
            raise CommandError(problems) from None
        sections: list[tuple[str, dict[str, Any]]] = [("MODULE", stats["by_module"])]
        if options["by_task_name"]:
            sections.append(("TASK NAME", stats["by_task_name"]))
        for index, (label, groups) in enumerate(sections):
            rows = [[name, *self._counts(counts)] for name, counts in sorted(groups.items())]
            rows.append(["(all)", *self._counts(stats)])
            if index:
                self.stdout.write("")
            self.stdout.write(render_table([label, "TOTAL", *STATUS_HEADERS], rows))

    # --- revoke, retry, locks, release-lock -----------------------------------------------

    def _add_operate(self, subcommands: Any) -> None:
        revoke = subcommands.add_parser(
            "revoke",
            help="revoke executions: the row REVOKED first, then Celery's revoke",
            description="Revoke unfinished executions by id. The row is written REVOKED "
            "first, so no worker runs the task later, even after a restart.",
        )
        revoke.add_argument("ids", nargs="+", type=_positive_int, metavar="ID")
        revoke.add_argument(
            "--terminate", action="store_true", help="also kill the task if it is running"
        )
        revoke.add_argument("--signal", default="SIGTERM", help="signal for --terminate")
        retry = subcommands.add_parser(
            "retry",
            help="run finished executions again, each as a new row linked by retry_of",
            description="Retry finished executions by id: same task, module and arguments, a "
            "new task id. Refused for rows still running or whose arguments were redacted.",
        )
        retry.add_argument("ids", nargs="+", type=_positive_int, metavar="ID")
        locks = subcommands.add_parser(
            "locks", help="list held locks", description="List the locks held now, both backends."
        )
        locks.add_argument("--backend", choices=["cache", "advisory"])
        release = subcommands.add_parser(
            "release-lock",
            help="force-release a lock by name",
            description="Release the named lock whoever holds it (audited).",
        )
        release.add_argument("name", metavar="NAME")
        release.add_argument("--backend", choices=["cache", "advisory"])
        for parser in (revoke, retry, release):
            parser.add_argument("--reason", default=None, help="why (kept in the audit trail)")

    def _each(self, ids: list[int], verb: Any) -> None:
        failed = 0
        for pk in ids:
            try:
                self.stdout.write(verb(pk))
            except TaskExecution.DoesNotExist:
                failed += 1
                self.stdout.write(f"{pk}: no such execution")
            except (ExecutionStateError, ValueError) as error:
                failed += 1
                self.stdout.write(f"{pk}: {error}")
        if failed:
            raise CommandError(f"{failed} of {len(ids)} execution(s) were not acted on")

    def _revoke(self, options: dict[str, Any]) -> None:
        def revoke(pk: int) -> str:
            row = revoke_execution(
                pk,
                terminate=options["terminate"],
                signal=options["signal"],
                reason=options["reason"],
                source="command",
            )
            return f"{pk}: REVOKED (task {row.task_id})"

        self._each(options["ids"], revoke)

    def _retry(self, options: dict[str, Any]) -> None:
        def retry(pk: int) -> str:
            new = retry_execution(pk, reason=options["reason"], source="command")
            return f"{pk}: retried as {new.pk} (task {new.task_id})"

        self._each(options["ids"], retry)

    def _locks(self, options: dict[str, Any]) -> None:
        listing = list_locks(options["backend"])
        rows = [
            [
                lock["name"],
                lock["backend"],
                lock["holder"] or "",
                lock["since"].isoformat(timespec="seconds") if lock["since"] else "",
                "" if lock["ttl"] is None else f"{lock['ttl']:.0f}s",
            ]
            for lock in listing["locks"]
        ]
        self.stdout.write(render_table(["NAME", "BACKEND", "HOLDER", "SINCE", "TTL"], rows))
        for backend, why in listing["unavailable"].items():
            self.stdout.write(f"({backend}: not listed: {why})")

    def _release_lock(self, options: dict[str, Any]) -> None:
        try:
            done = release_lock(
                options["name"],
                backend=options["backend"],
                reason=options["reason"],
                source="command",
            )
        except LockBackendError as error:
            raise CommandError(str(error)) from None
        if done is None:
            raise CommandError(f"no backend holds a lock named {options['name']!r}")
        self.stdout.write(f"Released {options['name']!r} ({done[0]} backend): {done[1]}")

    @staticmethod
    def _counts(counts: Any) -> list[int]:
        return [counts["total"], *(counts[status] for status in STATUS_COLUMNS)]

    # --- watch --------------------------------------------------------------------------------

    WATCH_FILTERS = ("module", "task_name", "status", "created_by", "start_date", "end_date",
                     "search", "metadata")  # fmt: skip

    def _add_watch(self, subcommands: Any) -> None:
        parser = subcommands.add_parser(
            "watch",
            help="show executions' progress live until Ctrl-C (or until they finish)",
            description="Show each change of the matching executions as it happens: the "
            "unfinished ones first, then every change (the doorbell and the poll of changed "
            "rows). A progress bar per running execution on a terminal with rich installed, "
            "one line per change otherwise, or one JSON object per line with --json.",
        )
        parser.add_argument("--task-id", help="watch this one execution (by Celery task id)")
        for name in self.WATCH_FILTERS:
            parser.add_argument(
                f"--{name.replace('_', '-')}", dest=name, metavar=name.upper(),
                action="append" if name == "status" else "store",
                help="repeatable; any of them" if name == "status" else "as the list's filter",
            )  # fmt: skip
        parser.add_argument("--json", action="store_true", help="one JSON object per change")
        parser.add_argument(
            "--exit-on-finish",
            action="store_true",
            help="stop when the watched executions have finished; exit status 1 if one ended "
            "FAILURE or REVOKED",
        )

    def _watch(self, options: dict[str, Any]) -> None:
        names = (*self.WATCH_FILTERS, "task_id")
        values = {name: options[name] for name in names if options[name]}
        try:
            filters = parse_filters(**values)
        except FilterError as error:
            raise CommandError(
                "; ".join(
                    f"--{name.replace('_', '-')}: {' '.join(messages)}"
                    for name, messages in error.errors.items()
                )
            ) from None
        try:
            status = watch(
                filters,
                as_json=options["json"],
                exit_on_finish=options["exit_on_finish"],
                # The stream itself, not Django's wrapper, which ends every write with a
                # newline (rich writes a line in pieces).
                out=self.stdout._out,  # type: ignore[arg-type]
            )
        except KeyboardInterrupt:
            return
        if status:
            raise CommandError("a watched execution ended FAILURE or REVOKED", returncode=status)
