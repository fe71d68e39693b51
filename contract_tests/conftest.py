"""Fixtures and result recording for the contract suite.

The target is the running service named by ``QOMPLEMENT_BASE_URL`` (with
``QOMPLEMENT_API_KEY``) or, when that is unset, the bundled local API, started
once for the session. ``--conformance-results PATH`` writes every operation's
check outcomes as JSON (see ``contract_tests/_results.py``).
``--local-deviation NAME`` starts the local API with that departure from the
spec (see ``qomplement_local_api.deviations``), to show the suite catches it.
"""

from __future__ import annotations

import functools
import re
import sys
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from schemathesis.core.result import Ok

ROOT = Path(__file__).resolve().parent.parent
# The in-repo packages are importable without installing the distribution.
for folder in ("generated", "local_api", "wrapper"):
    if str(ROOT / folder) not in sys.path:
        sys.path.append(str(ROOT / folder))

from contract_tests._results import (  # noqa: E402
    CheckRecorder,
    RequestShown,
    shown_request,
)
from contract_tests._spec import contract_schema  # noqa: E402
from contract_tests._target import (  # noqa: E402
    Target,
    TargetConfigError,
    max_examples_from_env,
    remote_target_from_env,
)

RECORDER_KEY = pytest.StashKey[CheckRecorder]()
TARGET_KEY = pytest.StashKey[Target]()
STARTED_KEY = pytest.StashKey[float]()
FAILURES_BEFORE_KEY = pytest.StashKey[dict[tuple[str, str], int]]()
# Checks that judge answers to methods the spec does not declare; they pass
# vacuously when no such request is sent.
METHOD_CHECKS = frozenset({"unsupported_method", "allow_header_conformance"})
RATE_LIMIT_CHECK = "explicit_rate_limit_retry_after"
# openapi.yaml: Retry-After on a 429 is an integer number of seconds, >= 0.
RETRY_AFTER = re.compile(r"[0-9]+")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--conformance-results``."""
    parser.addoption(
        "--conformance-results",
        metavar="PATH",
        default=None,
        help="write each operation's check outcomes to PATH as JSON",
    )
    parser.addoption(
        "--local-deviation",
        metavar="NAME",
        action="append",
        default=[],
        help="start the local API with this named deviation (repeatable)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Check the target's environment before collecting anything."""
    config.addinivalue_line(
        "markers",
        "conformance(operation, check): the test is one check of one operation",
    )
    try:
        remote = remote_target_from_env()
        max_examples_from_env()
    except TargetConfigError as error:
        raise pytest.UsageError(str(error)) from None
    if remote is not None and config.getoption("--local-deviation"):
        raise pytest.UsageError(
            "--local-deviation applies to the local API, not to a running service"
        )
    recorder = CheckRecorder(redact=remote.redact if remote else str)
    config.stash[RECORDER_KEY] = recorder
    config.stash[STARTED_KEY] = time.monotonic()
    if remote is not None:
        config.stash[TARGET_KEY] = remote


@pytest.fixture(scope="session")
def recorder(pytestconfig: pytest.Config) -> CheckRecorder:
    """The session's check recorder."""
    return pytestconfig.stash[RECORDER_KEY]


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config, recorder: CheckRecorder) -> Iterator[Target]:
    """The API under test; the local API is started here and stopped after."""
    remote = pytestconfig.stash.get(TARGET_KEY, None)
    if remote is not None:
        _bind_schema(remote, recorder)
        yield remote
        return
    try:
        from qomplement_local_api import serve
    except ImportError as error:
        pytest.fail(
            f"the local API is not importable ({error}); set QOMPLEMENT_BASE_URL "
            "to test a running service instead",
            pytrace=False,
        )
    try:
        api = serve(deviations=pytestconfig.getoption("--local-deviation"))
    except ValueError as error:
        pytest.fail(str(error), pytrace=False)
    with api:
        local = Target(base_url=api.base_url, api_key=api.api_key, is_local=True)
        recorder.redact = local.redact
        pytestconfig.stash[TARGET_KEY] = local
        _bind_schema(local, recorder)
        yield local


def _bind_schema(target: Target, recorder: CheckRecorder) -> None:
    """Point the shared schema at ``target`` and record its check results."""
    schema = contract_schema()
    target.bind(schema)
    unexercised: frozenset[str] = frozenset()
    if target.allows_only_get:
        unexercised = METHOD_CHECKS
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):
                continue
            for check in sorted(METHOD_CHECKS):
                recorder.skipped(
                    result.ok().label,
                    check,
                    "a running service is sent GET requests only",
                )

    def after_validate(context: Any, case: Any, response: Any, results: Any) -> None:
        for result in results:
            if result.name in unexercised:
                continue
            if result.failure is None:
                recorder.passed(case.operation.label, result.name)
            else:
                recorder.failed(
                    case.operation.label,
                    result.name,
                    str(result.failure),
                    _request_shown(target, result, response),
                )

    schema.hooks.register_hook_with_name(after_validate, "after_validate")
    target.on_rate_limited = functools.partial(_judge_rate_limit, target, recorder)


def _judge_rate_limit(
    target: Target, recorder: CheckRecorder, operation: str, answer: Any
) -> None:
    """Record whether a ``429`` says, in whole seconds, how long to wait.

    The suite retries a ``429`` instead of handing it to schemathesis, so
    this is where its ``Retry-After`` is held to the spec.
    """
    retry_after = None
    for name, value in answer.headers.items():
        if name.lower() == "retry-after":
            # schemathesis keeps every value of a header in a list.
            retry_after = value[0] if isinstance(value, list) and value else value
            break
    if retry_after is not None and RETRY_AFTER.fullmatch(str(retry_after)):
        recorder.passed(operation, RATE_LIMIT_CHECK)
        return
    problem = (
        "a 429 answer has no Retry-After header"
        if retry_after is None
        else f"a 429 answer's Retry-After is {retry_after!r}, not whole seconds"
    )
    request = answer.request
    shown = shown_request(
        str(request.method),
        str(request.url),
        {name: str(value) for name, value in request.headers.items()},
        target.redact,
        429,
    )
    recorder.failed(operation, RATE_LIMIT_CHECK, problem, shown)


def _request_shown(target: Target, result: Any, response: Any) -> RequestShown:
    """Describe the request behind a failed schemathesis check."""
    request = response.request
    headers = {name: str(value) for name, value in request.headers.items()}
    scenario = str(getattr(result.failure, "scenario", ""))
    # `ignored_auth` fails on the probe it sent, which differs from the original
    # request only in its credentials.
    if scenario == "no_auth":
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    elif scenario == "invalid_auth":
        headers["Authorization"] = "Bearer SCHEMATHESIS-INVALID-VALUE"
    return shown_request(
        str(request.method),
        str(request.url),
        headers,
        target.redact,
        response.status_code,
    )


@pytest.fixture
def conformance(recorder: CheckRecorder) -> Iterator[CheckRecorder]:
    """The recorder, for tests that record several checks as they go."""
    yield recorder
    recorder.soft_failures.clear()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Note which checks had failed before the item ran."""
    recorder = item.config.stash[RECORDER_KEY]
    item.stash[FAILURES_BEFORE_KEY] = recorder.failure_counts()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Turn test outcomes into check outcomes where no check recorded them.

    A test whose failure a check already recorded (schemathesis' hook, a
    ``check`` block) adds nothing; a test marked ``conformance`` records its
    check, naming the checks that stopped it if there were any; any other
    failing test is listed as an error.
    """
    report: pytest.TestReport = yield
    recorder = item.config.stash[RECORDER_KEY]
    marker = item.get_closest_marker("conformance")
    if report.passed and (marker is None or report.when != "call"):
        return report
    message = _message(report)
    before: dict[tuple[str, str], int] = item.stash.get(FAILURES_BEFORE_KEY, {})
    newly_failed = recorder.failed_since(before)
    if marker is not None:
        operation, check = marker.args
        if report.skipped:
            recorder.skipped(operation, check, message)
        elif report.failed and newly_failed:
            first = newly_failed[0]
            recorder.failed(
                operation,
                check,
                "stopped by failing checks: "
                + ", ".join(f"{o.operation} {o.check}" for o in newly_failed),
                first.request,
            )
        elif report.failed:
            recorder.failed(operation, check, message, _last_request(item))
        else:
            recorder.passed(operation, check)
    elif report.failed and not newly_failed:
        recorder.error(item.nodeid, message)
    return report


def _message(report: pytest.TestReport) -> str:
    """The short text of a failed or skipped report."""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    return str(report.longrepr or "")


def _last_request(item: pytest.Item) -> RequestShown | None:
    """The last request the test's ``client`` sent, if it used one."""
    funcargs = getattr(item, "funcargs", {})
    client = funcargs.get("client")
    target = funcargs.get("target")
    request = getattr(client, "last_request", None)
    if request is None or target is None:
        return None
    return shown_request(
        request.method, str(request.url), dict(request.headers), target.redact
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the results file, when one was asked for."""
    config = session.config
    path = config.getoption("--conformance-results")
    if not path or RECORDER_KEY not in config.stash:
        return
    recorder = config.stash[RECORDER_KEY]
    target = config.stash.get(TARGET_KEY, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    counts: dict[str, int] = {}
    if reporter is not None:
        for outcome in ("passed", "failed", "skipped", "error"):
            counts[outcome] = len(reporter.stats.get(outcome, []))
    examples = dict(target.examples) if target is not None else {}
    requests = dict(target.requests) if target is not None else {}
    extra = {
        "target": {
            "base_url": target.base_url if target is not None else None,
            "kind": (
                "unknown"
                if target is None
                else "local"
                if target.is_local
                else "running service"
            ),
        },
        "max_examples": max_examples_from_env(),
        "examples": {"total": sum(examples.values()), "by_operation": examples},
        "explicit_requests": {
            "total": sum(requests.values()),
            "by_operation": requests,
        },
        "tests": counts,
        "exit_status": int(exitstatus),
        "duration_s": round(time.monotonic() - config.stash[STARTED_KEY], 2),
    }
    recorder.write(Path(path), extra)
