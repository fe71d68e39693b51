"""Lint ``openapi.yaml`` with Redocly CLI and build its reference page.

Usage::

    python scripts/build_docs.py              # lint, then build build/docs/index.html
    python scripts/build_docs.py --lint-only  # lint only
    python scripts/build_docs.py --no-lint    # build only

Redocly CLI and the lint plugin's libraries come from ``package-lock.json``:
``npm ci`` runs first whenever ``node_modules`` is missing or was installed
from another lock file. The lint fails on any error *or* warning. The page is
one self-contained HTML file: Redoc's scripts are inlined, telemetry is off
(``redocly.yaml``), and the one remote file Redoc would still fetch, the
Redocly logo in the sidebar, is replaced by an inline image.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
CONFIG = ROOT / "redocly.yaml"
LOCK = ROOT / "package-lock.json"
NODE_MODULES = ROOT / "node_modules"
REDOCLY = NODE_MODULES / ".bin" / "redocly"
OUTPUT = ROOT / "build" / "docs" / "index.html"
PAGE_TITLE = "qomplement Jobs API reference"

# Written into node_modules after `npm ci`: the digest of the lock file it used.
_LOCK_STAMP = NODE_MODULES / ".qomplement-lock-sha256"
_NPM_LOCK = ROOT / "build" / ".npm-ci.lock"

# Redoc's sidebar shows the Redocly logo from a CDN; the page must load nothing
# from outside, so the build swaps these addresses for inline images.
_REMOTE_LOGOS = {
    "https://cdn.redoc.ly/redoc/logo-mini-full.svg": "Redocly",
    "https://cdn.redoc.ly/redoc/logo-mini.svg": "R",
}

# Where a page fetches something by itself: an element attribute, a CSS url()
# or @import. A link a reader clicks (<a href>) is not a fetch.
_FETCHING_URL = re.compile(
    r"""<(?:script|img|link|iframe|source|video|audio|embed)\b[^>]*?"""
    r"""\b(?:src|href|srcset)\s*=\s*["']?(?P<attr>(?:https?:)?//[^"'\s>]+)"""
    r"""|url\(\s*["']?(?P<css>(?:https?:)?//[^"')\s]+)"""
    r"""|@import\s+["'](?P<import>(?:https?:)?//[^"']+)""",
    re.IGNORECASE,
)


class DocsError(Exception):
    """Raised when a tool is missing, the lint finds a problem or the build fails."""


@dataclass(frozen=True)
class LintProblem:
    """One problem Redocly reported."""

    rule: str
    severity: str
    message: str
    source: Path
    pointer: str
    line: int
    column: int

    def __str__(self) -> str:
        return (
            f"{self.source.name}:{self.line}:{self.column} {self.severity} "
            f"{self.rule}: {self.message} ({self.pointer})"
        )


def tool_environment() -> dict[str, str]:
    """Return the environment for npm and Redocly: no telemetry, no update checks."""
    env = dict(os.environ)
    env.update(
        {
            "REDOCLY_TELEMETRY": "off",
            "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
            "NO_UPDATE_NOTIFIER": "1",
            "npm_config_update_notifier": "false",
            "npm_config_audit": "false",
            "npm_config_fund": "false",
        }
    )
    return env


def _lock_digest() -> str:
    """Return the SHA-256 of package-lock.json."""
    return hashlib.sha256(LOCK.read_bytes()).hexdigest()


def node_modules_current() -> bool:
    """Tell whether node_modules was installed from the current lock file."""
    if not REDOCLY.exists() or not _LOCK_STAMP.exists():
        return False
    return _LOCK_STAMP.read_text(encoding="ascii").strip() == _lock_digest()


def ensure_node_modules() -> None:
    """Run `npm ci` when node_modules is missing or stale.

    Raises:
        DocsError: npm is not installed or `npm ci` fails.
    """
    if node_modules_current():
        logger.debug("node_modules matches package-lock.json")
        return

    npm = shutil.which("npm")
    if npm is None:
        raise DocsError("npm is not installed; run scripts/setup_system.sh")

    # Parallel test workers may all find node_modules stale; one installs.
    _NPM_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with _NPM_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not node_modules_current():
            _npm_ci(npm)


def _npm_ci(npm: str) -> None:
    """Install node_modules from package-lock.json and stamp it."""
    logger.info("installing Redocly CLI with npm ci")
    completed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=ROOT,
        env=tool_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise DocsError(f"npm ci failed:\n{completed.stdout}{completed.stderr}")
    _LOCK_STAMP.write_text(_lock_digest() + "\n", encoding="ascii")


def run_redocly(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the pinned Redocly CLI with ``args`` from the repository root.

    Raises:
        DocsError: node is not installed.
    """
    node = shutil.which("node")
    if node is None:
        raise DocsError("node is not installed; run scripts/setup_system.sh")
    return subprocess.run(
        [node, str(REDOCLY), *args],
        cwd=ROOT,
        env=tool_environment(),
        capture_output=True,
        text=True,
        check=False,
    )


def lint(*specs: Path, config: Path = CONFIG) -> list[LintProblem]:
    """Lint ``specs`` (default: openapi.yaml) and return every problem reported.

    Raises:
        DocsError: Redocly could not run or could not read a spec.
    """
    targets = [str(spec) for spec in specs or (SPEC,)]
    completed = run_redocly(
        "lint", *targets, f"--config={config}", "--format=json", "--max-problems=1000"
    )
    reports = _json_documents(completed.stdout)
    if len(reports) != len(targets):
        raise DocsError(
            f"redocly lint reported on {len(reports)} of {len(targets)} file(s) "
            f"(exit {completed.returncode}):\n{completed.stdout}{completed.stderr}"
        )

    problems = []
    for report in reports:
        for problem in report["problems"]:
            location = problem["location"][0]
            start = location.get("start", {})
            problems.append(
                LintProblem(
                    rule=problem["ruleId"],
                    severity=problem["severity"],
                    message=problem["message"],
                    source=(ROOT / location["source"]["ref"]).resolve(),
                    pointer=location.get("pointer", ""),
                    line=start.get("line", 0),
                    column=start.get("col", 0),
                )
            )
    return problems


def _json_documents(text: str) -> list[dict[str, Any]]:
    """Split Redocly's JSON output, one document per linted file, into objects."""
    decoder = json.JSONDecoder()
    documents: list[dict[str, Any]] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return documents
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            # Not JSON at all: Redocly failed before linting (an unreadable spec).
            return documents
        documents.append(document)


def _inline_logo(text: str) -> str:
    """Return a data: URL of a small SVG that spells ``text``."""
    width = 12 + 9 * len(text)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" '
        f'viewBox="0 0 {width} 20"><text x="0" y="15" font-family="sans-serif" '
        f'font-size="14" font-weight="600" fill="#5e6677">{text}</text></svg>'
    )
    return "data:image/svg+xml," + quote(svg, safe="")


def fetched_urls(html: str) -> list[str]:
    """Return the remote addresses that ``html`` makes a browser fetch by itself."""
    found = []
    for match in _FETCHING_URL.finditer(html):
        found.append(match.group("attr") or match.group("css") or match.group("import"))
    return found


def make_self_contained(html: str) -> str:
    """Make the page load nothing remote: inline the logo and the icon.

    Raises:
        DocsError: an address is missing (Redoc changed) or a remote fetch remains.
    """
    for address, text in _REMOTE_LOGOS.items():
        if address not in html:
            raise DocsError(
                f"{address} is not in the built page; Redoc changed, "
                "review make_self_contained()"
            )
        html = html.replace(address, _inline_logo(text))

    # Without an icon of its own a browser asks the server for /favicon.ico,
    # which a plain file host answers with 404, logged as a console error.
    if "<head>" not in html:
        raise DocsError("the built page has no <head>; review make_self_contained()")
    html = html.replace("<head>", '<head>\n  <link rel="icon" href="data:,">', 1)

    if "cdn.redoc.ly" in html:
        raise DocsError("the built page still refers to cdn.redoc.ly")
    remote = fetched_urls(html)
    if remote:
        raise DocsError(f"the built page fetches remote files: {remote}")
    return html


def build(output: Path = OUTPUT) -> Path:
    """Build the reference page into ``output`` and return its path.

    Raises:
        DocsError: Redocly fails or the page would load anything remote.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    raw = output.with_name(output.name + ".partial")
    completed = run_redocly(
        "build-docs",
        str(SPEC),
        f"--config={CONFIG}",
        f"--output={raw}",
        f"--title={PAGE_TITLE}",
        "--inlineBundle",
    )
    if completed.returncode != 0 or not raw.exists():
        raise DocsError(
            f"redocly build-docs failed (exit {completed.returncode}):\n"
            f"{completed.stdout}{completed.stderr}"
        )

    html = make_self_contained(raw.read_text(encoding="utf-8"))
    output.write_text(html, encoding="utf-8")
    raw.unlink()
    return output


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--lint-only", action="store_true", help="lint, build nothing")
    group.add_argument("--no-lint", action="store_true", help="build without linting")
    parser.add_argument(
        "--output", type=Path, default=OUTPUT, help=f"page to write (default {OUTPUT})"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="build_docs: %(message)s")

    try:
        ensure_node_modules()
        if not args.no_lint:
            problems = lint()
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                print(
                    f"build_docs: lint found {len(problems)} problem(s); "
                    "warnings count as failures",
                    file=sys.stderr,
                )
                return 1
            print(f"build_docs: {SPEC.name} lints clean (0 errors, 0 warnings)")
        if not args.lint_only:
            page = build(args.output)
            print(f"build_docs: wrote {page}")
    except DocsError as exc:
        # A missing tool is not a problem of the spec: say so with its own status.
        print(f"build_docs: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
