"""`python -m benchmarks`: run the comparisons, print and write the Markdown report.

Options pick the comparisons (`--only waiting,download`), shrink every one
for a quick look (`--quick`, which writes nothing unless `--output` is
given) and choose the output file (default `benchmarks/RESULTS.md`). The
raw figures go beside it as JSON with `--json PATH`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from . import contract, download, many_jobs, overhead, report, waiting
from ._harness import REPO, LatencyProbe, LocalServer, load_average, machine

logger = logging.getLogger(__name__)

COMPARISONS = ("waiting", "download", "overhead", "many", "contract")
DEFAULT_OUTPUT = REPO / "benchmarks" / "RESULTS.md"


def _parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark the SDK against hand-written baselines on the "
        "local API and write a Markdown report.",
    )
    parser.add_argument(
        "--only",
        default=parser_default_only(),
        help="comma-separated comparisons to run (default: all of "
        f"{', '.join(COMPARISONS)})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small scale for a quick look (about 3 min); writes no file "
        "unless --output is given",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"where to write the report (default: {DEFAULT_OUTPUT.relative_to(REPO)}"
        ", none with --quick)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    return parser


def parser_default_only() -> str:
    """The value of `--only` that runs every comparison."""
    return ",".join(COMPARISONS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen comparisons and report them; return the exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    # SIGTERM ends the run like Ctrl+C does: workers and the server are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    args = _parser().parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(COMPARISONS))
    if unknown:
        print(f"error: unknown comparison(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    output = args.output if args.output else None if args.quick else DEFAULT_OUTPUT
    # Where the files go does not change what is measured: left out.
    shown = [f"--only={args.only}"] if args.only != parser_default_only() else []
    shown += ["--quick"] if args.quick else []
    command = shlex.join(["python", "-m", "benchmarks", *shown])

    started = time.monotonic()
    results: dict[str, Any] = {
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
    }
    with LocalServer() as server, LatencyProbe(server) as probe:
        results["clock_bracket"] = server.check_shared_clock()
        for name in COMPARISONS:
            if name not in chosen:
                continue
            print(f"running {name}...", file=sys.stderr, flush=True)
            phase_started = time.monotonic()
            results[name] = _run(name, server, probe, quick=args.quick)
            print(
                f"  {name} took {time.monotonic() - phase_started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    results["machine"]["load average (1, 5, 15 min) at end"] = load_average()
    results["elapsed"] = time.monotonic() - started

    text = report.render(results)
    print(text)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn a signal into KeyboardInterrupt, so every `finally` runs."""
    raise KeyboardInterrupt


def _run(
    name: str, server: LocalServer, probe: LatencyProbe, *, quick: bool
) -> dict[str, Any]:
    """Run one comparison at full or quick scale."""
    if name == "waiting":
        return waiting.run(server, probe, pairs=12 if quick else 120)
    if name == "download":
        if quick:
            return download.run(server, probe, sizes=download.SIZES[:2], repeats=1)
        return download.run(server, probe)
    if name == "overhead":
        return overhead.run(server, probe, calls=400 if quick else 2000)
    if name == "many":
        if quick:
            return many_jobs.run(server, probe, jobs=200, rps=10.0)
        return many_jobs.run(server, probe)
    return contract.run(repeats=1 if quick else 3)


if __name__ == "__main__":
    sys.exit(main())
