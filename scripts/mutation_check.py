"""Show that the main job catches every way the local API knows to break the spec.

Usage::

    python scripts/mutation_check.py                 # every deviation, table to docs/
    python scripts/mutation_check.py --deviation total_as_string --no-write

Runs ``scripts/conformance.py`` against the faithful local API and against the
local API started with each deviation of
``qomplement_local_api.deviations.KNOWN_DEVIATIONS``, several runs at a time,
then prints a table (deviation, caught or not, by which checks, time) and
writes it to ``docs/mutation-results.md`` with the machine and the date. A
deviation counts as caught when every one of its runs ends with the verdict
"deviates" and names at least one failed check.

Exit status: 0 when the faithful server conforms and every deviation is
caught, 1 otherwise, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _folder in ("", "generated", "wrapper", "local_api"):
    if str(ROOT / _folder) not in sys.path:
        sys.path.insert(0, str(ROOT / _folder))

from qomplement_local_api.deviations import KNOWN_DEVIATIONS  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from rich.text import Text  # noqa: E402

CONFORMANCE = ROOT / "scripts" / "conformance.py"
DEFAULT_OUTPUT = ROOT / "docs" / "mutation-results.md"
DEFAULT_REPORTS = ROOT / "reports" / "mutation"
# Enough for every deviation to be caught every time (checked with --repeat),
# few enough that the whole check stays within a few minutes on two cores.
DEFAULT_MAX_EXAMPLES = 25
DEFAULT_JOBS = 2
RUN_TIMEOUT_SECONDS = 300.0

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

FAITHFUL = "(faithful)"
# A failure that only says other checks failed first adds nothing to "by".
_ECHO = "stopped by failing checks"
SHORT_OPERATIONS = {
    "GET /v1/jobs": "list",
    "GET /v1/jobs/{job_id}": "get",
    "GET /v1/jobs/{job_id}/download": "download",
    "WEBHOOK jobFinished": "webhook",
}


@dataclass
class MainJobRun:
    """What one run of the main job showed."""

    deviation: str | None
    exit_status: int | None
    seconds: float
    failed_checks: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    problem: str = ""

    @property
    def conforms(self) -> bool:
        """Whether the verdict was "conforms"."""
        return self.exit_status == 0

    @property
    def caught(self) -> bool:
        """Whether the verdict was "deviates", with a failed check or error to show."""
        return self.exit_status == 1 and bool(self.failed_checks or self.errors)


@dataclass
class Verdict:
    """The runs of one deviation (or of the faithful server), taken together."""

    name: str
    description: str
    runs: list[MainJobRun]

    @property
    def caught(self) -> bool:
        """Whether every run caught the deviation."""
        return bool(self.runs) and all(run.caught for run in self.runs)

    @property
    def clean(self) -> bool:
        """Whether every run conformed (what the faithful server must do)."""
        return bool(self.runs) and all(run.conforms for run in self.runs)

    @property
    def caught_by(self) -> str:
        """The checks that failed in any run, with the operations they failed for."""
        operations: dict[str, list[str]] = {}
        for run in self.runs:
            for operation, check in run.failed_checks:
                short = SHORT_OPERATIONS.get(operation, operation)
                where = operations.setdefault(check, [])
                if short not in where:
                    where.append(short)
        parts = [f"{check} ({', '.join(where)})" for check, where in operations.items()]
        if any(run.errors for run in self.runs):
            parts.append("errors in the suite")
        return "; ".join(parts)

    @property
    def seconds(self) -> float:
        """The longest run's wall time."""
        return max((run.seconds for run in self.runs), default=0.0)

    @property
    def outcome(self) -> str:
        """``yes``/``no`` (``2/3`` when runs disagree), or why the runs failed."""
        problems = [run.problem for run in self.runs if run.problem]
        if problems:
            return problems[0]
        hits = sum(run.caught for run in self.runs)
        if hits == len(self.runs):
            return "yes"
        return "no" if hits == 0 else f"{hits}/{len(self.runs)}"


def _parser() -> argparse.ArgumentParser:
    """The command line of the mutation check."""
    parser = argparse.ArgumentParser(
        prog="mutation_check.py",
        description=(
            "Run the main job against the faithful local API and against each of "
            "its deviations; every deviation must be caught."
        ),
    )
    parser.add_argument(
        "--deviation",
        action="append",
        default=[],
        metavar="NAME",
        help="check only this deviation (repeatable; default: every known one)",
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        default=DEFAULT_MAX_EXAMPLES,
        help="generated examples per operation in each run (default: %(default)s)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=DEFAULT_JOBS,
        help="runs at the same time (default: %(default)s)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of each deviation; caught only if every run catches it "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=RUN_TIMEOUT_SECONDS,
        help="seconds one run may take (default: %(default)s)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the table as Markdown (default: %(default)s)",
    )
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument(
        "--reports",
        type=Path,
        default=DEFAULT_REPORTS,
        help="folder for each run's reports (default: %(default)s)",
    )
    return parser


def _environment() -> dict[str, str]:
    """The environment of a run: the local API, whatever the caller's settings."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("QOMPLEMENT_")
    }


def run_main_job(
    deviation: str | None,
    *,
    reports: Path,
    max_examples: int,
    timeout: float,
) -> MainJobRun:
    """Run scripts/conformance.py once, with ``deviation`` or faithfully."""
    reports.mkdir(parents=True, exist_ok=True)
    results = reports / "conformance-results.json"
    results.unlink(missing_ok=True)
    # The drift check and the spec lint judge the repository, not the server.
    command = [
        sys.executable,
        str(CONFORMANCE),
        "--skip-drift",
        "--skip-lint",
        "--max-examples",
        str(max_examples),
        "--results",
        str(results),
        "--junit",
        str(reports / "conformance-junit.xml"),
    ]
    if deviation is not None:
        command += ["--deviation", deviation]
    started = time.monotonic()
    try:
        completed = subprocess.run(
            command,
            cwd=ROOT,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return MainJobRun(
            deviation,
            None,
            time.monotonic() - started,
            problem=f"timed out after {timeout:g} s",
        )
    seconds = time.monotonic() - started
    (reports / "conformance-output.txt").write_text(
        completed.stdout + completed.stderr, encoding="utf-8"
    )
    run = MainJobRun(deviation, completed.returncode, seconds)
    if completed.returncode not in (0, 1) or not results.is_file():
        run.problem = f"setup error (exit {completed.returncode})"
        return run
    found: dict[str, Any] = json.loads(results.read_text(encoding="utf-8"))
    for outcome in found["results"]:
        if outcome["status"] != "failed":
            continue
        message = (outcome.get("failure") or {}).get("message") or ""
        if not message.startswith(_ECHO):
            run.failed_checks.append((outcome["operation"], outcome["check"]))
    run.errors = [error["test"] for error in found.get("errors", [])]
    return run


def check_all(
    deviations: Sequence[str],
    *,
    reports: Path,
    max_examples: int,
    jobs: int,
    repeat: int,
    timeout: float,
    on_run: Callable[[MainJobRun], None] = lambda run: None,
) -> tuple[Verdict, list[Verdict]]:
    """Run the faithful server once per repeat and each deviation ``repeat`` times.

    Returns the faithful server's verdict and each deviation's, in the order
    of ``deviations``; ``on_run`` hears of each run as it ends.
    """
    plan: list[tuple[str | None, int]] = [
        (name, attempt) for attempt in range(repeat) for name in (None, *deviations)
    ]

    def one(item: tuple[str | None, int]) -> MainJobRun:
        name, attempt = item
        folder = reports / (name or "faithful") / f"run-{attempt + 1}"
        run = run_main_job(
            name, reports=folder, max_examples=max_examples, timeout=timeout
        )
        on_run(run)
        return run

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(one, plan))
    by_name: dict[str | None, list[MainJobRun]] = {}
    for run in runs:
        by_name.setdefault(run.deviation, []).append(run)
    faithful = Verdict(FAITHFUL, "The local API as it is.", by_name.get(None, []))
    verdicts = [
        Verdict(name, KNOWN_DEVIATIONS[name].description, by_name.get(name, []))
        for name in deviations
    ]
    return faithful, verdicts


def exit_status(faithful: Verdict, verdicts: Sequence[Verdict]) -> int:
    """0 when the faithful server is clean and every deviation caught, else 1."""
    if faithful.clean and all(verdict.caught for verdict in verdicts):
        return EXIT_OK
    return EXIT_FAILED


def _faithful_state(faithful: Verdict) -> str:
    """Whether the faithful server conformed, and if not, how it failed."""
    if faithful.clean:
        return "clean"
    problems = [run.problem for run in faithful.runs if run.problem]
    why = problems[0] if problems else faithful.caught_by or "no check named"
    return f"NOT clean ({why})"


def summary_line(faithful: Verdict, verdicts: Sequence[Verdict]) -> str:
    """How many deviations were caught, and whether the faithful server conformed."""
    caught = sum(verdict.caught for verdict in verdicts)
    return (
        f"{caught} of {len(verdicts)} deviations caught; "
        f"faithful local API {_faithful_state(faithful)}"
    )


def print_table(
    console: Console, faithful: Verdict, verdicts: Sequence[Verdict], elapsed: float
) -> None:
    """Print the table of verdicts and the summary line."""
    table = Table(title="Mutation check of the contract suite")
    table.add_column("deviation", no_wrap=True)
    table.add_column("caught", justify="center")
    table.add_column("by")
    table.add_column("time", justify="right", no_wrap=True)
    table.add_row(
        FAITHFUL,
        Text(
            "clean" if faithful.clean else "NOT clean",
            style="green" if faithful.clean else "bold red",
        ),
        faithful.caught_by,
        f"{faithful.seconds:.1f} s",
    )
    for verdict in verdicts:
        table.add_row(
            verdict.name,
            Text(verdict.outcome, style="green" if verdict.caught else "bold red"),
            verdict.caught_by,
            f"{verdict.seconds:.1f} s",
        )
    console.print(table)
    console.print(f"{summary_line(faithful, verdicts)} · wall time {elapsed:.1f} s")


def _cell(text: str) -> str:
    """``text`` made safe for one cell of a Markdown table."""
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(
    faithful: Verdict,
    verdicts: Sequence[Verdict],
    *,
    elapsed: float,
    max_examples: int,
    repeat: int,
    jobs: int,
    when: dt.datetime,
) -> str:
    """The table as a Markdown document, with the machine, the date and the settings."""
    machine = (
        f"{platform.system()} {platform.release()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    lines = [
        "# Mutation check of the contract suite",
        "",
        "Each row starts the local API with one named deviation from `openapi.yaml`",
        "(`local_api/qomplement_local_api/deviations.py`) and runs the main job,",
        "`scripts/conformance.py`, against it; the deviation is caught when the main",
        'job\'s verdict is "deviates". *By* lists the checks that failed, with the',
        "operations they failed for. Regenerate with",
        "`python scripts/mutation_check.py` (or `tox -e mutation`).",
        "",
        f"- Date: {when.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {machine}",
        f"- Settings: {max_examples} generated examples per operation, "
        f"{repeat} run(s) per deviation, {jobs} runs at a time",
        f"- Wall time: {elapsed:.0f} s",
        f"- Result: **{summary_line(faithful, verdicts)}**",
        "",
        "| deviation | what it breaks | caught | by | time |",
        "| --- | --- | --- | --- | --- |",
        f"| {FAITHFUL} | {faithful.description} | "
        f"{'clean' if faithful.clean else 'NOT clean'} | "
        f"{_cell(faithful.caught_by) or '-'} | {faithful.seconds:.1f} s |",
    ]
    for verdict in verdicts:
        lines.append(
            f"| `{verdict.name}` | {_cell(verdict.description)} | {verdict.outcome} | "
            f"{_cell(verdict.caught_by) or '-'} | {verdict.seconds:.1f} s |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the mutation check and return its exit status."""
    started = time.monotonic()
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 160)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_OK if exit_.code == 0 else EXIT_USAGE
    unknown = [name for name in args.deviation if name not in KNOWN_DEVIATIONS]
    if unknown:
        console.print(
            Text(
                f"error: unknown deviation {', '.join(map(repr, unknown))}; known "
                f"deviations: {', '.join(sorted(KNOWN_DEVIATIONS))}",
                style="bold red",
            )
        )
        return EXIT_USAGE
    for option in ("max_examples", "jobs", "repeat"):
        if getattr(args, option) < 1:
            console.print(
                Text(f"error: --{option.replace('_', '-')} must be at least 1")
            )
            return EXIT_USAGE
    deviations = list(dict.fromkeys(args.deviation)) or list(KNOWN_DEVIATIONS)
    console.print(
        f"checking {len(deviations)} deviations and the faithful local API, "
        f"{args.repeat} run(s) each, {args.jobs} at a time, "
        f"{args.max_examples} examples per operation"
    )

    def report(run: MainJobRun) -> None:
        name = run.deviation or FAITHFUL
        if run.problem:
            state = run.problem
        elif run.deviation is None:
            state = "clean" if run.conforms else "NOT clean"
        else:
            state = "caught" if run.caught else "NOT caught"
        console.print(f"  {name}: {state} ({run.seconds:.1f} s)")

    faithful, verdicts = check_all(
        deviations,
        reports=args.reports.resolve(),
        max_examples=args.max_examples,
        jobs=args.jobs,
        repeat=args.repeat,
        timeout=args.timeout,
        on_run=report,
    )
    elapsed = time.monotonic() - started
    print_table(console, faithful, verdicts, elapsed)
    if not args.no_write:
        output: Path = args.output
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(
            markdown(
                faithful,
                verdicts,
                elapsed=elapsed,
                max_examples=args.max_examples,
                repeat=args.repeat,
                jobs=args.jobs,
                when=dt.datetime.now(dt.UTC),
            ),
            encoding="utf-8",
        )
        console.print(Text(f"table written to {output}", style="dim"))
    return exit_status(faithful, verdicts)


if __name__ == "__main__":
    sys.exit(main())
