"""Contract suite cost: the main job (`scripts/conformance.py`) against the local API.

It runs as a user runs it, starting its own local API, with its reports
written to a temporary folder instead of `reports/`. The wall time is
measured around the whole command (spec check, Redocly lint, drift check
and the contract suite); examples come from its summary line.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._harness import REPO, percentile, worker_environment

SUMMARY = re.compile(
    r"(?P<run>\d+) checks run: (?P<passed>\d+) passed, (?P<failed>\d+) failed, "
    r"(?P<skipped>\d+) skipped · (?P<examples>\d+) examples tried "
    r"\(\+(?P<explicit>\d+) explicit requests\) · wall time (?P<own>[\d.]+) s"
)


def run(*, repeats: int = 3) -> dict[str, Any]:
    """Run the main job `repeats` times; return the median wall time and examples."""
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="qomplement-benchmark-") as folder:
            started = time.monotonic()
            result = subprocess.run(
                [
                    sys.executable,
                    "scripts/conformance.py",
                    "--junit",
                    str(Path(folder) / "junit.xml"),
                    "--results",
                    str(Path(folder) / "results.json"),
                ],
                cwd=REPO,
                env=worker_environment(),
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            wall = time.monotonic() - started
        summary = SUMMARY.search(result.stdout)
        if summary is None:
            raise RuntimeError(
                f"conformance.py exited {result.returncode} without its summary:\n"
                + result.stdout[-2000:]
                + result.stderr[-2000:]
            )
        figures = {name: float(value) for name, value in summary.groupdict().items()}
        runs.append({"exit": result.returncode, "wall": wall, **figures})
    walls = [item["wall"] for item in runs]
    median = sorted(runs, key=lambda item: item["wall"])[len(runs) // 2]
    return {
        "repeats": repeats,
        "runs": runs,
        "wall": percentile(walls, 50),
        "examples": int(median["examples"]),
        "explicit": int(median["explicit"]),
        "checks": int(median["run"]),
        "failed": int(median["failed"]),
        "exit": median["exit"],
        "examples_per_second": median["examples"] / median["wall"],
        "requests_per_second": (median["examples"] + median["explicit"])
        / median["wall"],
    }
