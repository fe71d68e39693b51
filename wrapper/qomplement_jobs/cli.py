"""The `qomplement` command: get, list, wait for and download jobs.

Exit codes: 0 success (for `wait`, the job completed), 1 the job failed,
2 a usage or API error, 3 `wait` timed out, 130 interrupted.

The key comes from `QOMPLEMENT_API_KEY` (or `--api-key`, which other users of
the machine can see in the process list); it is never printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Sequence
from typing import IO, Any

from qomplement_jobs_client.models import (
    Job,
    JobProgress,
    KnownJobStatus,
    KnownJobType,
)
from rich.console import Console
from rich.logging import RichHandler
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from . import errors
from ._client import DEFAULT_WAIT_TIMEOUT, Client
from ._config import DEFAULT_TIMEOUT, MAX_TIMEOUT

__all__ = ["main"]

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_ERROR = 2
EXIT_TIMED_OUT = 3
EXIT_INTERRUPTED = 130

# How the SDK's messages name a keyword argument, and the option that does
# the same here.
_CLI_SPELLINGS = (
    ("pass overwrite=True", "pass --overwrite"),
    ("pass api_key=", "pass --api-key"),
    ("pass allow_insecure_http=True", "pass --allow-insecure-http"),
)

# Wider than any table of jobs, to measure a table's natural width.
_UNBOUNDED_WIDTH = 100_000


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default `sys.argv[1:]`); return the exit code.

    Example:
        >>> main(["list", "--status", "failed", "--json"])
        0
    """
    parser = _make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    out = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    # Rich wraps to the screen's width; into a pipe or a log file that would
    # only split a message over lines, so each one stays on its own line.
    err = Console(file=sys.stderr, highlight=False, soft_wrap=not _is_tty(sys.stderr))
    sdk_logger = logging.getLogger("qomplement_jobs")
    handler: logging.Handler | None = None
    if args.verbose:
        handler = RichHandler(console=err, show_path=False)
        sdk_logger.addHandler(handler)
        sdk_logger.setLevel(logging.DEBUG)
    try:
        return _run(args, out, err)
    finally:
        if handler is not None:
            sdk_logger.removeHandler(handler)
            sdk_logger.setLevel(logging.NOTSET)


def _run(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Run the chosen command, turning the SDK's errors into exit codes."""
    try:
        with Client(
            api_key=args.api_key,
            base_url=args.base_url,
            timeout=args.request_timeout,
            allow_insecure_http=args.allow_insecure_http,
        ) as client:
            command: Any = args.command_function
            code: int = command(client, args, out, err)
            return code
    except errors.JobFailedError as exc:
        err.print(Text.assemble(("Failed: ", "red"), _in_cli_terms(str(exc))))
        return EXIT_JOB_FAILED
    except errors.WaitTimeoutError as exc:
        err.print(Text.assemble(("Timed out: ", "yellow"), _in_cli_terms(str(exc))))
        return EXIT_TIMED_OUT
    except (errors.QomplementError, ValueError) as exc:
        err.print(Text.assemble(("Error: ", "red"), _in_cli_terms(str(exc))))
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.print("Interrupted")
        return EXIT_INTERRUPTED


def _in_cli_terms(message: str) -> str:
    """`message` with the SDK's keyword arguments named as this command's options."""
    for sdk_words, cli_words in _CLI_SPELLINGS:
        message = message.replace(sdk_words, cli_words)
    return message


def _wait_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds, 0 or more."""
    seconds = _number(text)
    if not (math.isfinite(seconds) and seconds >= 0):
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds, 0 or more, not {text!r}"
        )
    return seconds


def _request_seconds(text: str) -> float:
    """An argparse type: a request timeout, above 0 and at most `MAX_TIMEOUT`."""
    seconds = _number(text)
    if not (seconds > 0 and seconds <= MAX_TIMEOUT):
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds above 0 and at most {MAX_TIMEOUT:g}, "
            f"not {text!r}"
        )
    return seconds


def _number(text: str) -> float:
    """`text` as a float, or an argparse error saying it is not a number."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _make_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="qomplement",
        description="Follow qomplement jobs: get, list, wait for and download them.",
        epilog="Exit codes: 0 ok, 1 job failed, 2 usage or API error, 3 timed out.",
    )
    parser.add_argument(
        "--api-key",
        help="API key (default: $QOMPLEMENT_API_KEY; prefer the variable, since "
        "arguments are visible to other users)",
    )
    parser.add_argument(
        "--base-url", help="service URL (default: $QOMPLEMENT_BASE_URL or production)"
    )
    parser.add_argument(
        "--request-timeout",
        type=_request_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="timeout of each request (default: %(default)s)",
    )
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow plain http:// to a host that is not loopback",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each request")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    get = commands.add_parser("get", help="print one job as JSON")
    get.add_argument("job_id")
    get.set_defaults(command_function=_get)

    listing = commands.add_parser("list", help="list jobs, newest first")
    listing.add_argument("--status", choices=[s.value for s in KnownJobStatus])
    listing.add_argument("--type", choices=[t.value for t in KnownJobType])
    listing.add_argument("--limit", type=int, default=20, help="jobs per page (1-100)")
    listing.add_argument("--offset", type=int, default=0)
    listing.add_argument("--all", action="store_true", help="walk every page")
    listing.add_argument("--json", action="store_true", help="print JSON, not a table")
    listing.set_defaults(command_function=_list)

    wait = commands.add_parser("wait", help="wait for a job to finish")
    wait.add_argument("job_id")
    wait.add_argument(
        "--timeout",
        type=_wait_seconds,
        default=DEFAULT_WAIT_TIMEOUT,
        metavar="SECONDS",
        help="give up after this long (default: %(default)s)",
    )
    wait.add_argument("--json", action="store_true", help="print the finished job")
    wait.add_argument("--quiet", action="store_true", help="no progress bar")
    wait.set_defaults(command_function=_wait)

    download = commands.add_parser("download", help="download a job's file")
    download.add_argument("job_id")
    download.add_argument(
        "destination", nargs="?", default=".", help="file or directory (default: .)"
    )
    download.add_argument("--overwrite", action="store_true")
    download.add_argument("--quiet", action="store_true", help="no progress bar")
    download.set_defaults(command_function=_download)
    return parser


def _get(client: Client, args: argparse.Namespace, out: Console, err: Console) -> int:
    """`qomplement get JOB_ID`: the job as JSON."""
    job = client.get_job(args.job_id)
    out.print(_to_json(job.to_dict()), markup=False)
    return EXIT_OK


def _list(client: Client, args: argparse.Namespace, out: Console, err: Console) -> int:
    """`qomplement list`: a table of jobs (or JSON)."""
    if args.all:
        jobs = list(
            client.iter_jobs(status=args.status, type=args.type, page_size=args.limit)
        )
        total, has_more = len(jobs), False
    else:
        page = client.list_jobs(
            status=args.status, type=args.type, limit=args.limit, offset=args.offset
        )
        jobs, total, has_more = page.jobs, page.total, page.has_more
    if args.json:
        document = {
            "jobs": [job.to_dict() for job in jobs],
            "total": total,
            "has_more": has_more,
        }
        out.print(_to_json(document), markup=False)
        return EXIT_OK

    table = Table(title=f"{len(jobs)} of {total} jobs", title_justify="left")
    for column in ("id", "type", "status", "progress", "created"):
        table.add_column(column, overflow="fold")
    for job in jobs:
        table.add_row(
            Text(str(job.id)),
            Text(str(job.type_)),
            _styled_status(job),
            Text(_progress_text(job)),
            Text(job.created_at.isoformat(timespec="seconds")),
        )
    _print_whole(out, table)
    if has_more:
        err.print(f"More jobs follow: --offset {args.offset + len(jobs)} or --all")
    return EXIT_OK


def _print_whole(console: Console, table: Table) -> None:
    """Print `table` without cutting any value short.

    On a terminal, a cell too long for the screen folds onto more lines.
    Anywhere else (a pipe, a file) the table is as wide as its widest row,
    so each job stays whole on one line for `grep` and the like; whether
    the stream is a terminal is asked of the stream itself, since rich also
    answers yes for a pipe when FORCE_COLOR is set.
    """
    if not _is_tty(console.file):
        unbounded = console.options.update_width(_UNBOUNDED_WIDTH)
        natural = Measurement.get(console, unbounded, table).maximum
        console.width = max(console.width, natural)
    console.print(table)


def _is_tty(stream: IO[str]) -> bool:
    """Whether `stream` is a terminal (False for a closed or odd stream)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _wait(client: Client, args: argparse.Namespace, out: Console, err: Console) -> int:
    """`qomplement wait JOB_ID`: a progress bar until the job finishes."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=args.quiet or not _is_tty(err.file),
        transient=True,
    ) as progress:
        task = progress.add_task(f"job {args.job_id}", total=None)

        def show(job: Job) -> None:
            _show_job_progress(progress, task, job)

        try:
            job = client.wait(args.job_id, timeout=args.timeout, on_progress=show)
        except errors.JobFailedError as failure:
            # A failed job is finished too: a script reading --json gets it
            # (with its error), and the exit code still says it failed.
            if args.json:
                out.print(_to_json(failure.job.to_dict()), markup=False)
            raise
    if args.json:
        out.print(_to_json(job.to_dict()), markup=False)
    else:
        took = ""
        if isinstance(job.processing_time_ms, int):
            took = f" in {job.processing_time_ms / 1000:.1f}s"
        out.print(f"Job {job.id} completed{took}")
    return EXIT_OK


def _show_job_progress(progress: Progress, task: TaskID, job: Job) -> None:
    """Move the bar to the job's progress, with its message as the description."""
    report = job.progress
    if isinstance(report, JobProgress) and report.total > 0:
        message = report.message if isinstance(report.message, str) else None
        progress.update(
            task,
            total=report.total,
            completed=report.current,
            description=message or str(job.status),
        )
    elif job.status == KnownJobStatus.COMPLETED:
        current = progress.tasks[0].total or 1
        progress.update(task, total=current, completed=current, description="completed")
    else:
        progress.update(task, description=str(job.status))


def _download(
    client: Client, args: argparse.Namespace, out: Console, err: Console
) -> int:
    """`qomplement download JOB_ID [DEST]`: a byte progress bar, then the path."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        disable=args.quiet or not _is_tty(err.file),
        transient=True,
    ) as progress:
        task = progress.add_task("downloading", total=None)

        def show(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        path = client.download(
            args.job_id, args.destination, overwrite=args.overwrite, on_progress=show
        )
    out.print(str(path), markup=False)
    return EXIT_OK


def _to_json(document: object) -> str:
    """Indented JSON; values JSON cannot hold are written as strings."""
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)


def _styled_status(job: Job) -> Text:
    """The status, coloured for the table (never read as markup)."""
    colours = {"completed": "green", "failed": "red", "processing": "cyan"}
    status = str(job.status)
    return Text(status, style=colours.get(status, ""))


def _progress_text(job: Job) -> str:
    """`"2/5"` for a job with progress, else empty."""
    report = job.progress
    if isinstance(report, JobProgress):
        return f"{report.current}/{report.total}"
    return ""


if __name__ == "__main__":
    sys.exit(main())
