"""The operator's commands: `jobs`, `jobs retry`, `dlq show`, `dlq redrive`.

Arguments and output only; the work is in worker/operator_jobs.py, operator_retry.py and
operator_dlq.py. Tables for a person (rich), one JSON document with `--json` for a script.
Exit codes as the rest of the CLI: 0 done, 1 something could not be done, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from app.failure_reasons import FailureReason
from app.models import JobStatus
from app.settings import Settings

if TYPE_CHECKING:
    from worker.operator_jobs import JobFilter, JobSummary

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# What one run handles unless told otherwise. A listing: a screenful (the counts cover every
# match). A retry: 500 jobs, ten batches of publishing, a few seconds; a larger backlog takes
# more runs, each safe. A look at the dead-letter queue: 100. A redrive: 1000 messages, 100
# batches of three SQS calls.
DEFAULT_LISTING_LIMIT = 50
DEFAULT_RETRY_LIMIT = 500
DEFAULT_SHOW_LIMIT = 100
DEFAULT_REDRIVE_LIMIT = 1000


def add_operator_commands(commands: Any) -> None:
    """Add `jobs` and `dlq` to the CLI's subcommands."""
    jobs = commands.add_parser("jobs", help="counts and a listing of jobs; retry failed ones")
    _add_filter(jobs, reason_required=False)
    jobs.add_argument("--status", action="append", choices=[s.value for s in JobStatus])
    jobs.add_argument("--limit", type=_positive, default=DEFAULT_LISTING_LIMIT, metavar="N")
    jobs_commands = jobs.add_subparsers(dest="jobs_command")
    retry = jobs_commands.add_parser("retry", help="a new attempt for each failed job selected")
    _add_filter(retry, reason_required=True)
    retry.add_argument("--limit", type=_positive, default=DEFAULT_RETRY_LIMIT, metavar="N")
    retry.add_argument("--dry-run", action="store_true", help="show what would be retried")

    dlq = commands.add_parser("dlq", help="the dead-letter queue: look, or move back")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    show = dlq_commands.add_parser("show", help="messages on the dead-letter queue")
    redrive = dlq_commands.add_parser("redrive", help="move them back to the work queue")
    redrive.add_argument("--dry-run", action="store_true", help="show what would be moved")
    for command, limit in ((show, DEFAULT_SHOW_LIMIT), (redrive, DEFAULT_REDRIVE_LIMIT)):
        command.add_argument("--limit", type=_positive, default=limit, metavar="N")
        command.add_argument("--json", action="store_true", help="print one JSON document")


def _add_filter(parser: argparse.ArgumentParser, *, reason_required: bool) -> None:
    parser.add_argument(
        "--reason",
        action="append",
        required=reason_required,
        choices=[reason.value for reason in FailureReason],
        metavar="REASON",
        help="a failure reason (repeat for several): " + ", ".join(FailureReason),
    )
    parser.add_argument("--book", type=int, metavar="BOOK_ID")
    parser.add_argument("--since", metavar="T", help="changed since: 30m, 2h, 1d or ISO 8601")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


# The commands' modules are imported when a command runs, as worker/cli.py does for `process`:
# the database and AWS layers cost a second of start-up that `--help` and `models` need not pay.


def run_jobs(arguments: argparse.Namespace, settings: Settings) -> int:
    from app.db import session_scope
    from worker.operator_jobs import JobFilter, count_jobs, list_jobs, parse_since

    try:
        selection = JobFilter(
            statuses=tuple(JobStatus(s) for s in getattr(arguments, "status", None) or ()),
            reasons=tuple(arguments.reason or ()),
            book_id=arguments.book,
            since=parse_since(arguments.since) if arguments.since else None,
        )
    except ValueError as error:
        print(f"image-processor: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if arguments.jobs_command == "retry":
        return _retry(arguments, selection)
    with session_scope() as session:
        counts = count_jobs(session=session, selection=selection)
        listing = list_jobs(session=session, selection=selection, limit=arguments.limit)
    if arguments.json:
        _print_json(
            {"counts": [vars(row) for row in counts], "jobs": [job.as_dict() for job in listing]}
        )
        return EXIT_OK
    table = Table("status", "reason", "jobs", title="Jobs by status and reason")
    for row in counts:
        table.add_row(row.status, row.reason or "", str(row.count))
    _console().print(table)
    _print_jobs(listing, title=f"Most recently changed (at most {arguments.limit})")
    return EXIT_OK


def _retry(arguments: argparse.Namespace, selection: JobFilter) -> int:
    from worker.operator_retry import retry_failed_jobs

    report = retry_failed_jobs(
        selection=selection, limit=arguments.limit, dry_run=arguments.dry_run
    )
    if arguments.json:
        _print_json(report.as_dict())
    elif report.dry_run:
        _print_jobs(report.selected, title="Would retry")
        print(f"would queue {len(report.selected)} new jobs (dry run: nothing changed)")
    else:
        print(
            f"queued {len(report.queued)} new jobs for {len(report.selected)} failed jobs selected"
            f"; {len(report.not_queued)} created but not published (queue_failed: the beat sweep"
            f" publishes them); {len(report.skipped)} skipped (an active job already)"
        )
    return EXIT_FAILED if report.not_queued else EXIT_OK


def run_dlq(arguments: argparse.Namespace, settings: Settings) -> int:
    from worker.operator_dlq import (
        dead_letter_queue_url,
        queue_depth,
        redrive_dead_letters,
        show_dead_letters,
    )

    if arguments.dlq_command == "redrive" and not arguments.dry_run:
        report = redrive_dead_letters(settings=settings, limit=arguments.limit)
        if arguments.json:
            _print_json(report.as_dict())
        else:
            print(f"moved {len(report.moved)} messages to the work queue; {len(report.failed)} not")
        if report.error:
            print(f"image-processor: error: {report.error}", file=sys.stderr)
        return EXIT_FAILED if report.error else EXIT_OK
    depth = queue_depth(dead_letter_queue_url(settings))
    letters = show_dead_letters(settings=settings, limit=arguments.limit)
    if arguments.json:
        _print_json({"approximate_depth": depth, "messages": [m.as_dict() for m in letters]})
        return EXIT_OK
    table = Table("message", "task", "job", "receives", "age", "problem", title="Dead letters")
    for letter in letters:
        entry = letter.as_dict()
        table.add_row(
            letter.message_id,
            letter.task or "?",
            letter.job_id or "?",
            str(letter.receive_count),
            _age(float(str(entry["age_seconds"]))),
            letter.problem or "",
        )
    _console().print(table)
    verb = "would move" if arguments.dlq_command == "redrive" else "showing"
    print(f"{verb} {len(letters)} of about {depth} messages on the dead-letter queue")
    return EXIT_OK


def _print_jobs(jobs: list[JobSummary], *, title: str) -> None:
    table = Table("job", "book", "image", "status", "reason", "tries", "changed", title=title)
    for job in jobs:
        table.add_row(
            str(job.id),
            str(job.book_id),
            str(job.image_id),
            job.status,
            job.reason or "",
            str(job.attempts),
            _age(job.age_seconds) + " ago",
        )
    _console().print(table)


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _console() -> Console:
    # Wide enough for a job id and a reason side by side when piped to a file or a log.
    return Console(width=None if sys.stdout.isatty() else 160)


def _print_json(document: dict[str, Any]) -> None:
    print(json.dumps(document, indent=2, default=str))
