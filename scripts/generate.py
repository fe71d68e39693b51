"""Regenerate ``generated/`` from ``openapi.yaml``, or check that it is current.

Usage::

    python scripts/generate.py          # rewrite generated/qomplement_jobs_client
    python scripts/generate.py --check  # exit 1 when generated/ is out of date

The generator runs into a temporary folder, so a failed or warning run never
touches ``generated/``. Any warning from the generator fails the run: a warning
means an operation, a response or a schema was dropped from the client.
"""

from __future__ import annotations

import argparse
import difflib
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
CONFIG = ROOT / "openapi-python-client.yaml"
PACKAGE = "qomplement_jobs_client"
TARGET = ROOT / "generated" / PACKAGE


class GenerationError(Exception):
    """Raised when the generator fails or warns."""


def _generator() -> str:
    """Return the path of the pinned generator's console script."""
    candidate = Path(sys.executable).parent / "openapi-python-client"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("openapi-python-client")
    if found is None:
        raise GenerationError(
            "openapi-python-client is not installed; run `./dev setup` first"
        )
    return found


def generate_into(folder: Path) -> Path:
    """Run the generator into ``folder`` and return the package it wrote."""
    output = folder / PACKAGE
    command = [
        _generator(),
        "generate",
        "--path",
        str(SPEC),
        "--config",
        str(CONFIG),
        "--meta",
        "none",
        "--output-path",
        str(output),
    ]
    # The post-hooks call `ruff` by name: make it the pinned one beside this
    # interpreter, whatever PATH the caller has.
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    run = subprocess.run(command, capture_output=True, text=True, cwd=folder, env=env)
    log = (run.stdout + run.stderr).strip()
    if run.returncode != 0 or not output.is_dir():
        raise GenerationError(f"the generator failed:\n{log}")
    if "warning" in log.lower() or "error" in log.lower():
        raise GenerationError(f"the generator reported problems:\n{log}")
    return output


def _files(root: Path) -> dict[str, Path]:
    """Map each file below ``root`` (caches excepted) to its relative name."""
    return {
        path.relative_to(root).as_posix(): path
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def differences(expected: Path, actual: Path) -> list[str]:
    """Describe how the tree ``actual`` differs from ``expected``, file by file."""
    want, have = _files(expected), _files(actual)
    report: list[str] = []
    for name in sorted(want.keys() - have.keys()):
        report.append(f"missing from generated/: {name}")
    for name in sorted(have.keys() - want.keys()):
        report.append(f"not produced by the spec: {name}")
    for name in sorted(want.keys() & have.keys()):
        if filecmp.cmp(want[name], have[name], shallow=False):
            continue
        diff = difflib.unified_diff(
            have[name].read_text().splitlines(),
            want[name].read_text().splitlines(),
            f"generated/{PACKAGE}/{name}",
            f"expected/{PACKAGE}/{name}",
            lineterm="",
        )
        report.append("\n".join(list(diff)[:40]))
    return report


def main(argv: list[str] | None = None) -> int:
    """Regenerate or check, as the command line asks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare generated/ with a fresh generation instead of rewriting it",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="qomplement-generate-") as scratch:
        try:
            fresh = generate_into(Path(scratch))
        except GenerationError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

        if args.check:
            report = (
                differences(fresh, TARGET)
                if TARGET.is_dir()
                else [f"generated/{PACKAGE} does not exist"]
            )
            if report:
                print(
                    "generated/ is out of date with openapi.yaml; "
                    "run `python scripts/generate.py`:",
                    file=sys.stderr,
                )
                print("\n".join(report), file=sys.stderr)
                return 1
            print(f"generated/{PACKAGE} matches openapi.yaml")
            return 0

        if TARGET.exists():
            shutil.rmtree(TARGET)
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(fresh, TARGET)
        print(f"wrote generated/{PACKAGE}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
