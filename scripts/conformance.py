"""Check an API against openapi.yaml and print a verdict (the main job).

Usage::

    python scripts/conformance.py                      # against the bundled local API
    python scripts/conformance.py --deviation NAME     # ... told to break the spec
    QOMPLEMENT_API_KEY=sd_... python scripts/conformance.py --base-url URL

Steps: (1) openapi.yaml must be a valid OpenAPI 3.1 document; (2) it must
lint clean under Redocly with redocly.yaml (``scripts/build_docs.py
--lint-only``); (3) generated/ must be what openapi.yaml generates
(``scripts/generate.py --check``); (4) the contract suite in contract_tests/
runs against the target, writing a JUnit report and a JSON file of every
operation's check outcomes; (5) a table of operation x check and, for each
failure, the request that shows it.

A running service (``--base-url`` or ``QOMPLEMENT_BASE_URL``) gets only GET
requests, at most ``--max-rps`` (``QOMPLEMENT_MAX_RPS``, default 2) a second;
the key comes only from ``QOMPLEMENT_API_KEY`` and is never printed. The key
goes over plain ``http://`` only to loopback, unless ``--allow-insecure-http``
(``QOMPLEMENT_ALLOW_INSECURE_HTTP=1``) says the network is trusted. Before the
suite starts, one ``GET /v1/jobs?limit=1`` checks the service is there and
accepts the key.

Exit status: 0 when everything conforms, 1 on any deviation, 2 when the run
could not be set up (bad arguments, missing or refused key, unreachable
target, plain http to another machine).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from rich.text import Text  # noqa: E402

from contract_tests._target import (  # noqa: E402
    ALLOW_INSECURE_HTTP_VARIABLE,
    API_KEY_VARIABLE,
    BASE_URL_VARIABLE,
    MAX_EXAMPLES_VARIABLE,
    MAX_RPS_VARIABLE,
    Target,
    TargetConfigError,
    max_examples_from_env,
    remote_target_from_env,
)

SPEC = ROOT / "openapi.yaml"
REPORTS = ROOT / "reports"
DEFAULT_JUNIT = REPORTS / "conformance-junit.xml"
DEFAULT_RESULTS = REPORTS / "conformance-results.json"
PYTEST_LOG_NAME = "conformance-pytest.log"
PACKAGE_FOLDERS = ("generated", "wrapper", "local_api")

EXIT_OK = 0
EXIT_DEVIATION = 1
EXIT_SETUP = 2

# Answers to the preflight that mean the key itself was refused.
REFUSED_KEY_STATUSES = (401, 403)

MESSAGE_LINES = 12


class SetupError(Exception):
    """Raised when the run cannot be set up or finished, through no fault of the API."""


@dataclass
class StepOutcome:
    """The outcome of one step that is not an operation's check."""

    name: str
    passed: bool
    detail: str = ""


@dataclass
class Run:
    """Everything the verdict is printed from."""

    target: str
    steps: list[StepOutcome] = field(default_factory=list)
    results: dict[str, Any] | None = None
    junit: Path | None = None
    results_path: Path | None = None
    log_path: Path | None = None


def _parser() -> argparse.ArgumentParser:
    """The command line of the main job."""
    parser = argparse.ArgumentParser(
        prog="conformance.py",
        description="Check an API against openapi.yaml and print a verdict.",
        epilog=(
            f"The key is read from {API_KEY_VARIABLE} only. Exit status: 0 conforms, "
            "1 deviates, 2 setup or usage error."
        ),
    )
    parser.add_argument(
        "--base-url",
        help=f"a running service to check (default: ${BASE_URL_VARIABLE}, "
        "else the bundled local API)",
    )
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="send the key over plain http:// to a host that is not loopback "
        f"(default: refused unless ${ALLOW_INSECURE_HTTP_VARIABLE} is 1)",
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        help=f"generated examples per operation (default: ${MAX_EXAMPLES_VARIABLE}, "
        "else 100 for the local API and 20 for a running service)",
    )
    parser.add_argument(
        "--max-rps",
        type=float,
        help=f"request rate cap for a running service (default: ${MAX_RPS_VARIABLE} "
        "or 2)",
    )
    parser.add_argument(
        "--junit",
        type=Path,
        default=DEFAULT_JUNIT,
        help="where to write the JUnit XML report (default: %(default)s)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=DEFAULT_RESULTS,
        help="where to write the JSON check outcomes (default: %(default)s)",
    )
    parser.add_argument(
        "--skip-lint",
        action="store_true",
        help="do not lint openapi.yaml with Redocly (needs Node.js)",
    )
    parser.add_argument(
        "--deviation",
        action="append",
        default=[],
        metavar="NAME",
        help="start the bundled local API with this named departure from the spec "
        "(repeatable), to see the suite catch it",
    )
    parser.add_argument(
        "--skip-drift",
        action="store_true",
        help="do not check that generated/ matches openapi.yaml",
    )
    return parser


def _environment(args: argparse.Namespace) -> dict[str, str]:
    """The suite's environment: the target, the limits and importable packages.

    Raises:
        SetupError: if the arguments and environment name an unusable target.
    """
    env = dict(os.environ)
    base_url_from = BASE_URL_VARIABLE
    if args.base_url is not None:
        env[BASE_URL_VARIABLE] = args.base_url
        base_url_from = "--base-url"
    if args.allow_insecure_http:
        # Through the environment, so that the suite's own process agrees.
        env[ALLOW_INSECURE_HTTP_VARIABLE] = "1"
    if args.max_examples is not None:
        if args.max_examples < 1:
            raise SetupError("--max-examples must be at least 1")
        env[MAX_EXAMPLES_VARIABLE] = str(args.max_examples)
    if args.max_rps is not None:
        env[MAX_RPS_VARIABLE] = repr(args.max_rps)
    try:
        remote = remote_target_from_env(env, base_url_from=base_url_from)
        max_examples_from_env(env)
    except TargetConfigError as error:
        raise SetupError(str(error)) from None
    if remote is not None and args.deviation:
        raise SetupError("--deviation applies to the bundled local API only")
    # The in-repo packages, after whatever the caller put first.
    folders = [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []
    folders += [str(ROOT)] + [str(ROOT / name) for name in PACKAGE_FOLDERS]
    env["PYTHONPATH"] = os.pathsep.join(folders)
    return env


def check_spec() -> StepOutcome:
    """Validate openapi.yaml against the OpenAPI 3.1 schema."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    name = "openapi.yaml is a valid OpenAPI document"
    try:
        document, _ = read_from_filename(str(SPEC))
        validate(document)
    except Exception as error:  # the validator raises several unrelated types
        return StepOutcome(name, False, f"{type(error).__name__}: {error}")
    return StepOutcome(name, True)


def _script_step(
    name: str, script: str, argument: str, env: dict[str, str], broken: str
) -> StepOutcome:
    """Run one of scripts/ as a step: exit 0 passes, 1 fails, anything else is
    a setup error described by ``broken``."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), argument],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = (run.stdout + run.stderr).strip()
    if run.returncode == 0:
        return StepOutcome(name, True)
    if run.returncode == 1:
        return StepOutcome(name, False, output)
    raise SetupError(f"{broken}:\n{output}")


def check_drift(env: dict[str, str]) -> StepOutcome:
    """Run ``scripts/generate.py --check``.

    Raises:
        SetupError: if the generator itself cannot run.
    """
    return _script_step(
        "generated/ matches openapi.yaml",
        "generate.py",
        "--check",
        env,
        "the drift check could not run",
    )


def check_lint(env: dict[str, str]) -> StepOutcome:
    """Lint openapi.yaml with the pinned Redocly CLI (``build_docs.py --lint-only``).

    Raises:
        SetupError: if the linter cannot run (no Node.js, npm ci failed).
    """
    return _script_step(
        "openapi.yaml lints clean (Redocly, 0 errors, 0 warnings)",
        "build_docs.py",
        "--lint-only",
        env,
        "the spec linter could not run (or pass --skip-lint)",
    )


# Imports the local API and prints the names of its deviations.
_LOCAL_PROBE = """
import json
from qomplement_local_api import serve
from qomplement_local_api.deviations import KNOWN_DEVIATIONS
print(json.dumps(sorted(KNOWN_DEVIATIONS)))
"""


def _preflight(env: dict[str, str], deviations: Sequence[str] = ()) -> str:
    """Name the target, and make sure it can be reached at all.

    Raises:
        SetupError: if the local API cannot be imported or does not know one
            of ``deviations``, or the running service cannot be reached or
            refuses the key.
    """
    remote = remote_target_from_env(env)
    if remote is None:
        probe = subprocess.run(
            [sys.executable, "-c", _LOCAL_PROBE],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode != 0:
            raise SetupError(
                "the bundled local API cannot be imported:\n" + probe.stderr.strip()
            )
        known = json.loads(probe.stdout.strip().splitlines()[-1])
        unknown = [name for name in deviations if name not in known]
        if unknown:
            raise SetupError(
                f"unknown deviation {', '.join(map(repr, unknown))}; "
                f"known deviations: {', '.join(known)}"
            )
        if deviations:
            return f"the bundled local API, deviating: {', '.join(deviations)}"
        return "the bundled local API"
    _reach(remote)
    return f"{remote.base_url} (GET only, at most {remote.max_rps:g} requests/s)"


def _reach(target: Target) -> None:
    """Send one documented, authenticated GET and make sure the key is accepted.

    A ``429`` is waited out like any other (bounded); an answer other than
    ``401`` or ``403`` is left for the suite to judge.

    Raises:
        SetupError: if the target cannot be reached, or refuses the key.
    """
    import httpx

    try:
        with target.client() as client:
            answer = client.get(
                "/v1/jobs", operation="GET /v1/jobs", params={"limit": 1}
            )
    except httpx.HTTPError as error:
        raise SetupError(
            f"{target.base_url} cannot be reached: {type(error).__name__}: "
            + target.redact(str(error))
        ) from None
    if answer.status_code in REFUSED_KEY_STATUSES:
        # Hundreds of requests would each be refused and read as deviations.
        raise SetupError(
            f"the target refused the key ({answer.status_code} "
            f"{_refusal_reason(target, answer)}); check {API_KEY_VARIABLE}"
        )


def _refusal_reason(target: Target, answer: Any) -> str:
    """The ``detail`` of an error answer, else its reason phrase; redacted, short."""
    reason = ""
    try:
        body = answer.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        reason = body["detail"]
    reason = " ".join(target.redact(reason or answer.reason_phrase).split())
    return reason[:200] or "no reason given"


def run_suite(
    env: dict[str, str],
    junit: Path,
    results: Path,
    deviations: Sequence[str] = (),
) -> Path:
    """Run the contract suite in a child pytest; return the path of its log.

    ``deviations`` are started with the bundled local API.

    Raises:
        SetupError: if pytest could not collect or run the suite.
    """
    junit.parent.mkdir(parents=True, exist_ok=True)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "contract_tests",
        "-p",
        "no:cacheprovider",
        "-q",
        "--tb=short",
        f"--junitxml={junit}",
        f"--conformance-results={results}",
        *(f"--local-deviation={name}" for name in deviations),
    ]
    if remote_target_from_env(env) is not None:
        # A paced run against a running service may take longer than the
        # per-test timeout meant for the local API; requests have their own.
        command.append("--timeout=0")
    run = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    api_key = env.get(API_KEY_VARIABLE, "")
    log = run.stdout + run.stderr
    if api_key:
        log = log.replace(api_key, "[REDACTED]")
    log_path = results.parent / PYTEST_LOG_NAME
    log_path.write_text(log, encoding="utf-8")
    if run.returncode not in (0, 1) or not results.is_file():
        tail = "\n".join(log.strip().splitlines()[-20:])
        raise SetupError(
            f"the contract suite did not run (pytest exit {run.returncode}); "
            f"log: {log_path}\n{tail}"
        )
    return log_path


def _cell(status: str | None) -> Text:
    """One cell of the verdict table."""
    if status == "passed":
        return Text("pass", style="green")
    if status == "failed":
        return Text("FAIL", style="bold red")
    if status == "skipped":
        return Text("skip", style="yellow")
    return Text("·", style="dim")


def _short(message: str) -> str:
    """``message`` cut to ``MESSAGE_LINES`` lines."""
    lines = [line.rstrip() for line in message.strip().splitlines()]
    if len(lines) > MESSAGE_LINES:
        lines = [
            *lines[:MESSAGE_LINES],
            f"... ({len(lines) - MESSAGE_LINES} more lines)",
        ]
    return "\n".join(lines)


def print_verdict(console: Console, run: Run, elapsed: float) -> int:
    """Print the verdict and return the exit status it implies."""
    console.print(Text(f"Target: {run.target}", style="bold"))
    for step in run.steps:
        console.print(
            Text.assemble(_cell("passed" if step.passed else "failed"), " ", step.name)
        )
    if run.results is None:
        console.print(Text("the contract suite did not run", style="yellow"))
    results = run.results or {"results": [], "errors": []}
    outcomes: list[dict[str, Any]] = results["results"]
    operations = sorted({o["operation"] for o in outcomes}, key=_operation_order)
    checks = sorted({o["check"] for o in outcomes}, key=_check_order)
    status = {(o["operation"], o["check"]): o["status"] for o in outcomes}

    if outcomes:
        table = Table(title="Checks by operation", show_lines=False)
        table.add_column("check", no_wrap=True)
        for operation in operations:
            table.add_column(operation, justify="center")
        for check in checks:
            table.add_row(check, *(_cell(status.get((op, check))) for op in operations))
        console.print(table)

    failed_steps = [step for step in run.steps if not step.passed]
    failures = [o for o in outcomes if o["status"] == "failed"]
    errors: list[dict[str, str]] = results.get("errors", [])
    for step in failed_steps:
        console.print(Text(f"FAIL {step.name}", style="bold red"))
        console.print(Text(_short(step.detail)))
    for outcome in failures:
        console.print()
        console.print(
            Text(f"FAIL {outcome['operation']} · {outcome['check']}", style="bold red")
        )
        failure = outcome.get("failure") or {}
        console.print(Text(_short(failure.get("message") or "(no message)")))
        if failure.get("method"):
            code = failure.get("status_code")
            answered = f" -> {code}" if code else ""
            # Unwrapped, so that the curl line can be copied whole.
            console.print(
                Text(f"request: {failure['method']} {failure['url']}{answered}"),
                soft_wrap=True,
            )
            console.print(Text(f"reproduce: {failure['curl']}"), soft_wrap=True)
    for error in errors:
        console.print()
        console.print(Text(f"ERROR {error['test']}", style="bold red"))
        console.print(Text(_short(error["message"])))

    ran = [o for o in outcomes if o["status"] in ("passed", "failed")]
    skipped = [o for o in outcomes if o["status"] == "skipped"]
    reasons: dict[str, list[str]] = {}
    for outcome in skipped:
        reason = outcome.get("skip_reason") or "no reason given"
        reasons.setdefault(reason, []).append(
            f"{outcome['operation']} · {outcome['check']}"
        )
    if reasons:
        console.print()
    for reason, where in reasons.items():
        console.print(Text(f"SKIP {reason}: ", style="yellow") + Text(", ".join(where)))
    checks_run = len(ran) + len(run.steps)
    checks_failed = len(failures) + len(failed_steps)
    examples = results.get("examples", {}).get("total", 0)
    explicit = results.get("explicit_requests", {}).get("total", 0)
    console.print()
    console.print(
        f"{checks_run} checks run: {checks_run - checks_failed} passed, "
        f"{checks_failed} failed, {len(skipped)} skipped · "
        f"{examples} examples tried (+{explicit} explicit requests) · "
        f"wall time {elapsed:.1f} s"
    )
    if run.junit is not None:
        console.print(
            Text(
                f"reports: {run.junit}, {run.results_path}, {run.log_path}", style="dim"
            )
        )
    deviates = bool(checks_failed or errors)
    if deviates:
        console.print(Text("DEVIATES from openapi.yaml", style="bold red"))
        return EXIT_DEVIATION
    console.print(Text("CONFORMS to openapi.yaml", style="bold green"))
    return EXIT_OK


def _operation_order(label: str) -> tuple[int, str]:
    """Columns in the order a client walks them: list, get, download."""
    order = ["GET /v1/jobs", "GET /v1/jobs/{job_id}", "GET /v1/jobs/{job_id}/download"]
    return (order.index(label) if label in order else len(order), label)


def _check_order(name: str) -> tuple[int, str]:
    """Schemathesis' checks first, then the suite's own."""
    own = name.startswith(("explicit_", "links_", "reference_", "spec_", "unknown_"))
    return (1 if own else 0, name)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the main job and return its exit status."""
    started = time.monotonic()
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 150)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_OK if exit_.code == 0 else EXIT_SETUP
    try:
        env = _environment(args)
        target = _preflight(env, args.deviation)
        run = Run(target=target)
        spec = check_spec()
        run.steps.append(spec)
        if not args.skip_lint:
            run.steps.append(check_lint(env))
        if not args.skip_drift:
            run.steps.append(check_drift(env))
        # Schemathesis cannot test against a document that is not OpenAPI;
        # the verdict then rests on the spec check alone.
        if spec.passed:
            junit, results = args.junit.resolve(), args.results.resolve()
            run.log_path = run_suite(env, junit, results, args.deviation)
            run.junit, run.results_path = junit, results
            run.results = json.loads(results.read_text(encoding="utf-8"))
    except SetupError as error:
        console.print(Text(f"error: {error}", style="bold red"))
        return EXIT_SETUP
    return print_verdict(console, run, time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main())
